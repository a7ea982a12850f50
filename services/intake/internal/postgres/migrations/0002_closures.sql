-- feedback's case.closed and case.reopened set submissions.closed. They may
-- arrive out of order: closure_at keeps the time of the newest one applied,
-- and an older one changes nothing.
ALTER TABLE submissions ADD COLUMN closure_at timestamptz;
