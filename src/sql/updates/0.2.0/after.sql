-- wib 0.1.0 to 0.2.0, last step: data moved into the shape of 0.2.0.

-- The analytics totals computed once from the calls, outcomes and scores of 0.1.0;
-- from now on the nightly job keeps them up to date from wib.analytics_changes.
SELECT wib.analytics_totals_refresh(true);
