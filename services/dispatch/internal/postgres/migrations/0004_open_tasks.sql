-- The open tasks, for the SLA backlog on /metrics (Store.Backlog): counted
-- every few seconds, they must not cost a scan of every task ever dispatched.
CREATE INDEX tasks_open ON tasks (task_id) WHERE state IN ('dispatched', 'acknowledged', 'extension_requested');
