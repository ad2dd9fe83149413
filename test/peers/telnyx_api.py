"""Telnyx API v2 stand-in (api.telnyx.com) for wib's number provisioning tests.

Started by `telnyx.py serve ...`.  Every /v2 request needs
`Authorization: Bearer <API key>` (401 otherwise); bodies are JSON; errors are
{"errors": [{"code", "title", "detail", "source"?}]}, as Telnyx sends them.

  GET    /v2/available_phone_numbers?filter[country_code]=US
             &filter[phone_number_type]=local|toll_free
             &filter[national_destination_code]=NNN&filter[limit]=N
         -> {"data": [{"record_type": "available_phone_number", "phone_number",
             "cost_information": {"upfront_cost", "monthly_cost", "currency"}, ...}],
             "metadata": {"total_results", "best_effort_results"}}
         Numbers held by the account or in an open order are not offered.
         Local numbers cost "1.00" a month, toll-free "2.15".
  POST   /v2/number_orders {"phone_numbers": [{"phone_number"}], "connection_id",
             "customer_reference"?}
         -> {"data": {"id", "record_type": "number_order", "status": "pending",
             "phone_numbers": [{"id", "record_type": "number_order_phone_number",
             "phone_number", "status": "pending"}], "connection_id",
             "customer_reference", "created_at", "updated_at"}}
         422 when a number is not available or connection_id is not the
         account's (--connection-id).
  GET    /v2/number_orders/{id}   the order; each GET of a pending order counts,
         and after --pending-polls of them it is final: "success" (the numbers
         become phone number resources of the account) or, for the numbers set
         by /__admin/fail_numbers, "failure".  404 for an unknown id.
  GET    /v2/number_orders?filter[customer_reference]=X   {"data": [orders], "meta"}
  GET    /v2/phone_numbers?filter[phone_number]=+1...     {"data": [phone numbers], "meta"}
         A phone number resource has an id of its own (digits), not the id of
         the order or of the order's phone number.
  DELETE /v2/phone_numbers/{id}   releases it: {"data": {..., "status": "deleted"}};
         404 for an unknown or released id.

Admin API (loopback, no auth), JSON in and out:
  GET  /__admin/state               {"orders", "phone_numbers", "released"}
  GET  /__admin/stats               counts per endpoint and status
  POST /__admin/fail_numbers {"numbers": [...]}   orders of these numbers fail
  POST /__admin/inject {"method", "path" (regex), "status", "count", "after"}
       the next count matching requests (after the key check) get that status;
       with "after", each is carried out first and only its answer is lost
  POST /__admin/config {"pending_polls"}
  POST /__admin/reset_stats
"""
import argparse
import datetime
import json
import re
import secrets
import uuid

import peer_http
from peer_http import json_response

COSTS = {"local": "1.00", "toll_free": "2.15"}
TOLL_FREE_NDC = "888"


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def errors(status, code, title, detail, pointer=None):
    err = {"code": code, "title": title, "detail": detail}
    if pointer:
        err["source"] = {"pointer": pointer}
    return json_response(status, {"errors": [err]})


class TelnyxApi(peer_http.PeerApp):
    server_header = "telnyx-peer"

    def __init__(self, args):
        super().__init__(args)
        self.api_key = args.api_key
        self.connection_id = args.connection_id
        self.pending_polls = args.pending_polls
        self.orders = {}          # order id -> order
        self.numbers = {}         # phone number resource id -> resource
        self.released = []        # resources released, in order
        self.fail = set()         # numbers whose orders fail
        self.injections = []      # [{"method", "path", "status", "count"}]
        r = self.route
        r("GET", r"/v2/available_phone_numbers", "/v2/available_phone_numbers", self.search)
        r("POST", r"/v2/number_orders", "/v2/number_orders", self.order)
        r("GET", r"/v2/number_orders", "/v2/number_orders (list)", self.list_orders)
        r("GET", r"/v2/number_orders/([^/]+)", "/v2/number_orders/{id}", self.get_order)
        r("GET", r"/v2/phone_numbers", "/v2/phone_numbers (list)", self.list_numbers)
        r("DELETE", r"/v2/phone_numbers/([^/]+)", "/v2/phone_numbers/{id}", self.release)
        r("GET", r"/__admin/state", "/__admin/state", self.admin_state)
        r("GET", r"/__admin/stats", "/__admin/stats", self.admin_stats)
        r("POST", r"/__admin/fail_numbers", "/__admin/fail_numbers", self.admin_fail)
        r("POST", r"/__admin/inject", "/__admin/inject", self.admin_inject)
        r("POST", r"/__admin/config", "/__admin/config", self.admin_config)
        r("POST", r"/__admin/reset_stats", "/__admin/reset_stats", self.admin_reset)

    def not_found(self, req):
        return errors(404, "10005", "Resource not found", "The requested resource or URL could not be found.")

    def dispatch(self, req):
        """The key check and the injected failures come before any route of the API."""
        if req.path.startswith("/v2/"):
            if req.bearer() is None or not secrets.compare_digest(req.bearer(), self.api_key):
                resp = errors(401, "10009", "Authentication failed",
                              "The API key looks malformed. Check that you copied it correctly.")
                self.count("auth", 401)
                self.write_log(req, resp, "auth")
                return resp
            inj = None
            with self.lock:
                for cand in self.injections:
                    if cand["count"] > 0 and cand["method"] == req.method and re.fullmatch(cand["path"], req.path):
                        cand["count"] -= 1
                        inj = cand
                        break
            if inj is not None:
                if inj["after"]:
                    super().dispatch(req)   # done, but the answer is lost
                resp = errors(inj["status"], "10007", "Unexpected error",
                              "An unexpected error occurred (injected by the test).")
                self.count("injected", inj["status"])
                self.write_log(req, resp, "injected")
                return resp
        return super().dispatch(req)

    # -- the API --

    def held(self):
        """Numbers the account holds or has on open orders (not offered)."""
        out = {n["phone_number"] for n in self.numbers.values() if n["status"] != "deleted"}
        for o in self.orders.values():
            if o["status"] == "pending":
                out.update(p["phone_number"] for p in o["phone_numbers"])
        return out

    def search(self, req):
        country = req.q("filter[country_code]", "US")
        ntype = req.q("filter[phone_number_type]", "local")
        ndc = req.q("filter[national_destination_code]")
        limit = req.q("filter[limit]", "10")
        if ntype not in COSTS:
            return errors(400, "10015", "Invalid filter", "filter[phone_number_type] must be local or toll_free.",
                          "/filter/phone_number_type")
        if ndc is not None and not re.fullmatch(r"[2-9][0-9]{2}", ndc):
            return errors(400, "10015", "Invalid filter", "filter[national_destination_code] must be 3 digits.",
                          "/filter/national_destination_code")
        if not limit.isdigit() or not 1 <= int(limit) <= 100:
            return errors(400, "10015", "Invalid filter", "filter[limit] must be between 1 and 100.", "/filter/limit")
        data = []
        if country == "US":
            area = TOLL_FREE_NDC if ntype == "toll_free" else (ndc or "312")
            if ntype == "toll_free" and ndc not in (None, TOLL_FREE_NDC):
                area = None
            with self.lock:
                held = self.held()
            for i in range(100, 200):
                if area is None or len(data) >= int(limit):
                    break
                number = "+1%s555%04d" % (area, i)
                if number in held:
                    continue
                data.append({"record_type": "available_phone_number", "phone_number": number,
                             "vanity_format": None, "best_effort": False, "quickship": True, "reservable": True,
                             "region_information": [{"region_type": "country_code", "region_name": "US"}],
                             "cost_information": {"upfront_cost": COSTS[ntype], "monthly_cost": COSTS[ntype],
                                                  "currency": "USD"},
                             "features": [{"name": "voice"}, {"name": "fax"}]})
        return json_response(200, {"data": data, "metadata": {"total_results": len(data), "best_effort_results": 0}})

    def order(self, req):
        try:
            body = req.json()
        except ValueError:
            return errors(400, "10015", "Bad Request", "The request body is not valid JSON.")
        numbers = body.get("phone_numbers") if isinstance(body, dict) else None
        if (not isinstance(numbers, list) or not numbers
                or not all(isinstance(n, dict) and isinstance(n.get("phone_number"), str) for n in numbers)):
            return errors(422, "10015", "Invalid parameter", "phone_numbers must be a non-empty list of {phone_number}.",
                          "/phone_numbers")
        conn = body.get("connection_id")
        if self.connection_id is not None and conn != self.connection_id:
            return errors(422, "10015", "Invalid parameter", "connection_id is not a connection of this account.",
                          "/connection_id")
        with self.lock:
            held = self.held()
            for n in numbers:
                if n["phone_number"] in held or not re.fullmatch(r"\+1[2-9][0-9]{9}", n["phone_number"]):
                    return errors(422, "10035", "Number not available",
                                  "%s is not available for ordering." % n["phone_number"], "/phone_numbers")
            stamp = now_iso()
            o = {"id": str(uuid.uuid4()), "record_type": "number_order", "status": "pending",
                 "phone_numbers_count": len(numbers), "connection_id": conn,
                 "customer_reference": body.get("customer_reference"), "messaging_profile_id": None,
                 "requirements_met": True, "created_at": stamp, "updated_at": stamp, "polls": 0,
                 "phone_numbers": [{"id": str(uuid.uuid4()), "record_type": "number_order_phone_number",
                                    "phone_number": n["phone_number"], "status": "pending",
                                    "requirements_met": True, "regulatory_requirements": []} for n in numbers]}
            self.orders[o["id"]] = o
            return json_response(200, {"data": self.public_order(o)})

    def public_order(self, o):
        return {k: v for k, v in o.items() if k != "polls"}

    def advance(self, o):
        """One GET of a pending order: final after --pending-polls of them."""
        if o["status"] != "pending":
            return
        o["polls"] += 1
        if o["polls"] < self.pending_polls:
            return
        failed = any(p["phone_number"] in self.fail for p in o["phone_numbers"])
        o["status"] = "failure" if failed else "success"
        o["updated_at"] = now_iso()
        for p in o["phone_numbers"]:
            p["status"] = o["status"]
            if not failed:
                rid = str(1293384261075731000 + len(self.numbers) + len(self.released) + 1)
                self.numbers[rid] = {"id": rid, "record_type": "phone_number", "phone_number": p["phone_number"],
                                     "status": "active", "connection_id": o["connection_id"],
                                     "customer_reference": o["customer_reference"],
                                     "phone_number_type": "toll_free" if p["phone_number"][2:5] == TOLL_FREE_NDC
                                     else "local",
                                     "purchased_at": o["updated_at"], "created_at": o["updated_at"],
                                     "updated_at": o["updated_at"]}

    def get_order(self, req, oid):
        with self.lock:
            o = self.orders.get(oid)
            if o is None:
                return self.not_found(req)
            self.advance(o)
            return json_response(200, {"data": self.public_order(o)})

    def list_orders(self, req):
        ref = req.q("filter[customer_reference]")
        with self.lock:
            found = [self.public_order(o) for o in self.orders.values()
                     if ref is None or o["customer_reference"] == ref]
        return json_response(200, {"data": found, "meta": {"total_results": len(found), "total_pages": 1,
                                                           "page_number": 1, "page_size": 250}})

    def list_numbers(self, req):
        number = req.q("filter[phone_number]")
        with self.lock:
            found = [n for n in self.numbers.values()
                     if n["status"] != "deleted" and (number is None or n["phone_number"] == number)]
        return json_response(200, {"data": found, "meta": {"total_results": len(found), "total_pages": 1,
                                                           "page_number": 1, "page_size": 250}})

    def release(self, req, rid):
        with self.lock:
            n = self.numbers.get(rid)
            if n is None or n["status"] == "deleted":
                return self.not_found(req)
            n["status"] = "deleted"
            n["updated_at"] = now_iso()
            self.released.append(dict(n))
            return json_response(200, {"data": n})

    # -- admin --

    def admin_state(self, req):
        with self.lock:
            return json_response(200, {"orders": [self.public_order(o) for o in self.orders.values()],
                                       "phone_numbers": list(self.numbers.values()), "released": self.released})

    def admin_stats(self, req):
        with self.lock:
            return json_response(200, {"counts": self.counts, "total": self.total})

    def admin_fail(self, req):
        with self.lock:
            self.fail.update(req.json().get("numbers", []))
            return json_response(200, {"fail": sorted(self.fail)})

    def admin_inject(self, req):
        body = req.json()
        inj = {"method": body["method"], "path": body["path"], "status": int(body["status"]),
               "count": int(body.get("count", 1)), "after": bool(body.get("after", False))}
        with self.lock:
            self.injections.append(inj)
        return json_response(200, inj)

    def admin_config(self, req):
        body = req.json()
        with self.lock:
            if "pending_polls" in body:
                self.pending_polls = int(body["pending_polls"])
        return json_response(200, {"pending_polls": self.pending_polls})

    def admin_reset(self, req):
        self.reset_counts()
        return json_response(200, {})


def serve(argv):
    ap = argparse.ArgumentParser(prog="telnyx.py serve", description="Telnyx API v2 stand-in")
    ap.add_argument("--port-file", required=True, help="write the bound port here once listening")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="serve HTTPS with this certificate")
    ap.add_argument("--log", help="append one JSON line per request here")
    ap.add_argument("--api-key", required=True, help="the account's API key (Bearer token)")
    ap.add_argument("--connection-id", help="the account's TeXML connection; orders must name it")
    ap.add_argument("--pending-polls", type=int, default=1,
                    help="GETs of a pending order before it is final (default 1)")
    args = ap.parse_args(argv)
    peer_http.serve(TelnyxApi(args), args)
