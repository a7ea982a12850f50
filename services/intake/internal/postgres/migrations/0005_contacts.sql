-- The caller's contact (issue 14, "Personal data").
--
-- task_holders: the departments holding a task on a case, as dispatch's task
-- events (consumer intake-tasks) leave them; ReadContact lets the holder of
-- an open one read the contact. event_at keeps the newest event applied, so
-- an older one arriving late changes nothing.
CREATE TABLE task_holders (
    task_id    text PRIMARY KEY,
    case_id    text NOT NULL,
    department text NOT NULL,
    lead       boolean NOT NULL,
    open       boolean NOT NULL,
    event_at   timestamptz NOT NULL
);

CREATE INDEX task_holders_case ON task_holders (case_id) WHERE open;

-- contact_erased_at: when retention replaced the stored contact by its
-- masked form (INTAKE_CONTACT_RETENTION after the case closed, was withdrawn
-- or was answered on the call). The sweep looks only at hotline cases whose
-- contact is still kept.
ALTER TABLE submissions ADD COLUMN contact_erased_at timestamptz;

CREATE INDEX submissions_contact_kept ON submissions (accepted_at)
    WHERE contact_erased_at IS NULL AND hotline_order_no IS NOT NULL;
