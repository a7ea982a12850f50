-- Issue 17, dispatch's stage: a case's body (its facts with the citizen's
-- text, its routing) is about 2.3 kB of JSON, just over the size at which
-- PostgreSQL compresses a row's wide values (about 2 kB a row). Compressing
-- mostly-Chinese text with pglz cost more than anything else in writing a
-- case — measured on this host, about half an UPDATE's time per row — and
-- saved little. Rows up to a page's worth are kept as they are; larger ones
-- are still compressed and moved out of line as before. New row versions
-- take it; existing rows change as they are next written.
ALTER TABLE cases SET (toast_tuple_target = 8160);
