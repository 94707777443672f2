-- Sandbox fault rules (issue #22): per merchant, what the sandbox gets
-- wrong on purpose (docs/protocol.md "Sandbox faults"). `rule` is the
-- rule's JSON (vmp_protocol::faults::FaultRuleSpec, without id and
-- remaining); `remaining` counts a counted rule down (NULL: a percentage
-- rule, which lasts until cleared). A rule that reaches 0 is deleted.
CREATE TABLE sandbox_faults (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    user_confirm_key TEXT NOT NULL REFERENCES merchants (user_confirm_key),
    rule             TEXT NOT NULL,
    remaining        INTEGER CHECK (remaining IS NULL OR remaining >= 0),
    created_at       INTEGER NOT NULL
);
CREATE INDEX sandbox_faults_by_merchant ON sandbox_faults (user_confirm_key, id);
