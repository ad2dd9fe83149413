-- Privileges of scale-out.  Operators distribute; the push deliveries' policy
-- on a cluster calls wib.push_subscription_visible as the querying role.
GRANT EXECUTE ON FUNCTION wib.distribute() TO wib_admin;
GRANT EXECUTE ON FUNCTION wib.push_subscription_visible(uuid, uuid) TO wib_app;
