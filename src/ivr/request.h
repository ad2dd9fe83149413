/*
 * request.h
 *		The inbound side of a Telnyx callback: signature check and form decoding.
 */
#ifndef WIB_IVR_REQUEST_H
#define WIB_IVR_REQUEST_H

#include "lib/stringinfo.h"

/* Raises WB301 (no key) or WB007 unless the callback is signed by wib.telnyx_public_key. */
extern void ivr_request_verify(const char *body, int len, const char *signature, const char *ts);

/* The first value of key in a form body, decoded, in *value; false when absent. */
extern bool form_find(const char *body, int len, const char *key, StringInfo value);

#endif							/* WIB_IVR_REQUEST_H */
