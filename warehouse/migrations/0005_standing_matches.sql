-- standing_matches (reconciliation.standing) is kept with standing_verdicts from this release on: the
-- standing_night row of a home of the previous release says nothing of it, so it is removed and the next
-- night's store makes both standing tables again from every row.
DELETE FROM standing_night;
