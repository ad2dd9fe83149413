-- Last of every install and update script: nothing of wib is executable by PUBLIC.
-- Each feature's grants.sql opens its API to wib_app and wib_admin one function at a
-- time; functions created since are closed here, whatever their file forgot.

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA wib FROM PUBLIC;
