#include "migrations.hpp"

#include <array>
#include <string_view>

#include <SQLiteCpp/SQLiteCpp.h>

#include "ringside/storage/store.hpp"

namespace ringside::storage_detail {
namespace {

struct Migration {
    int version;
    std::string_view what;
    std::string_view sql;
};

// Append only: a released migration is never edited, a change is a new one.
// Times are integer milliseconds since the Unix epoch (UTC).
constexpr std::array migrations{
    Migration{1, "initial schema", R"sql(
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL DEFAULT '',
    role          TEXT    NOT NULL CHECK (role IN ('agent', 'supervisor', 'admin')),
    extension     TEXT,
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    password_hash TEXT    NOT NULL
);
CREATE INDEX users_extension ON users (extension) WHERE extension IS NOT NULL;

CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,
    username   TEXT    NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE customers (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    salutation TEXT    NOT NULL DEFAULT '',
    email      TEXT    NOT NULL DEFAULT '',
    tier       TEXT    NOT NULL DEFAULT '',
    tags       TEXT    NOT NULL DEFAULT '[]',   -- JSON array of strings
    company    TEXT    NOT NULL DEFAULT '',
    notes      TEXT    NOT NULL DEFAULT '',
    language   TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    status     TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'removed'))
);

-- A number may belong to several customers (a shared office line); the pop
-- lookup is a seek on the primary key.
CREATE TABLE customer_phones (
    e164        TEXT    NOT NULL,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    label       TEXT    NOT NULL DEFAULT '',
    position    INTEGER NOT NULL DEFAULT 0,     -- order within Customer::phones
    PRIMARY KEY (e164, customer_id)
) WITHOUT ROWID;
CREATE INDEX customer_phones_customer ON customer_phones (customer_id, position);

CREATE TABLE issues (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    title       TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    status      TEXT    NOT NULL CHECK (status IN ('open', 'resolved')),
    opened_at   INTEGER NOT NULL,
    resolved_at INTEGER
);
CREATE INDEX issues_open_by_customer ON issues (customer_id, opened_at) WHERE status = 'open';
CREATE INDEX issues_customer ON issues (customer_id);

CREATE TABLE interactions (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    channel     TEXT    NOT NULL,
    direction   TEXT    NOT NULL DEFAULT '',
    summary     TEXT    NOT NULL DEFAULT '',
    agent       TEXT,
    call_id     TEXT,
    status      TEXT    NOT NULL DEFAULT '',
    disposition TEXT    NOT NULL DEFAULT '',
    notes       TEXT    NOT NULL DEFAULT ''     -- the agent's notes from set_disposition
);
CREATE INDEX interactions_customer_at ON interactions (customer_id, at);
CREATE UNIQUE INDEX interactions_call_id ON interactions (call_id) WHERE call_id IS NOT NULL;

-- No foreign key to customers: a call is logged even if its customer is
-- later removed, and a log write must never fail on a reference.
CREATE TABLE calls (
    id           TEXT    PRIMARY KEY,
    pbx          TEXT    NOT NULL,
    direction    TEXT    NOT NULL,
    from_number  TEXT    NOT NULL DEFAULT '',
    from_raw     TEXT    NOT NULL DEFAULT '',
    from_name    TEXT    NOT NULL DEFAULT '',
    to_number    TEXT    NOT NULL DEFAULT '',
    customer_id  INTEGER,
    agent        TEXT,
    extension    TEXT,
    queue        TEXT,
    status       TEXT    NOT NULL,
    started_at   INTEGER NOT NULL,
    answered_at  INTEGER,
    ended_at     INTEGER,
    wait_seconds INTEGER NOT NULL DEFAULT 0,
    talk_seconds INTEGER NOT NULL DEFAULT 0,
    disposition  TEXT    NOT NULL DEFAULT '',
    notes        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX calls_started_at ON calls (started_at);
CREATE INDEX calls_agent_started_at ON calls (agent, started_at);
CREATE INDEX calls_status_started_at ON calls (status, started_at);
CREATE INDEX calls_customer_started_at ON calls (customer_id, started_at);
CREATE INDEX calls_pbx_status ON calls (pbx, status);

CREATE TABLE call_rings (
    call_id  TEXT    NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    agent    TEXT    NOT NULL,
    PRIMARY KEY (call_id, position)
) WITHOUT ROWID;

CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY,
    at     INTEGER NOT NULL,
    actor  TEXT    NOT NULL,
    action TEXT    NOT NULL,
    detail TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
-- Append-only even for a careless future query or a sqlite3 shell.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
)sql"},
    Migration{2, "call legs, queue position and hold time, calls by number", R"sql(
-- A leg per agent phone that rang in a call (transfers, ring groups, queues),
-- with its own talk time. Rewritten with the call row, in its transaction.
CREATE TABLE call_legs (
    call_id        TEXT    NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    agent          TEXT,
    extension      TEXT    NOT NULL,
    rang_at        INTEGER NOT NULL,
    answered_at    INTEGER,
    ended_at       INTEGER,
    talk_seconds   INTEGER NOT NULL DEFAULT 0,
    transferred_by TEXT,
    PRIMARY KEY (call_id, position)
) WITHOUT ROWID;
CREATE INDEX call_legs_agent ON call_legs (agent, rang_at) WHERE agent IS NOT NULL;

ALTER TABLE calls ADD COLUMN queue_position INTEGER;
ALTER TABLE calls ADD COLUMN hold_seconds INTEGER NOT NULL DEFAULT 0;

-- Repeat and missed callers: a number's calls of the last days, both ways.
CREATE INDEX calls_from_started_at ON calls (from_number, started_at);
CREATE INDEX calls_to_started_at ON calls (to_number, started_at);
)sql"},
    Migration{3, "supervisor call log, wallboard figures and reports", R"sql(
-- The day's figures and the reports scan a range of start times reading
-- only these columns: a covering index answers them without the table.
CREATE INDEX calls_day_figures ON calls (started_at, direction, status, wait_seconds, talk_seconds, agent);
-- Call log filters by direction or queue, newest first, keyset paged.
CREATE INDEX calls_direction_started_at ON calls (direction, started_at);
CREATE INDEX calls_queue_started_at ON calls (queue, started_at) WHERE queue IS NOT NULL;
)sql"},
    Migration{4, "customer file: profile fields, evaluation, search terms, tags, issue history", R"sql(
ALTER TABLE customers ADD COLUMN birthday          TEXT    NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN groups            TEXT    NOT NULL DEFAULT '[]';  -- JSON array of strings
ALTER TABLE customers ADD COLUMN owner             TEXT    NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN kind              TEXT    NOT NULL DEFAULT 'customer';
ALTER TABLE customers ADD COLUMN source_campaign   TEXT    NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN preferred_channel TEXT    NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN contact_time      TEXT    NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN opt_outs          TEXT    NOT NULL DEFAULT '[]';  -- JSON array of strings
ALTER TABLE customers ADD COLUMN value_score       INTEGER CHECK (value_score BETWEEN 1 AND 10);
ALTER TABLE customers ADD COLUMN lifetime_value    INTEGER;
ALTER TABLE customers ADD COLUMN customer_since    INTEGER;
ALTER TABLE customers ADD COLUMN removed_at        INTEGER;
ALTER TABLE customers ADD COLUMN removed_by        TEXT    NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN removed_reason    TEXT    NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN updated_at        INTEGER;
ALTER TABLE customers ADD COLUMN email_key         TEXT    NOT NULL DEFAULT '';     -- lower(email), for matching
-- NULL until the store has computed the name's search terms (done at open for older rows).
ALTER TABLE customers ADD COLUMN terms_version     INTEGER;
UPDATE customers SET email_key = lower(email);
CREATE INDEX customers_email_key ON customers (email_key) WHERE email_key <> '';
CREATE INDEX customers_value_score ON customers (value_score) WHERE status = 'active';
CREATE INDEX customers_owner ON customers (owner) WHERE owner <> '';
CREATE INDEX customers_terms_pending ON customers (id) WHERE terms_version IS NULL;

-- Folded name words (core fold_for_search): a name search is a prefix range
-- scan on term.
CREATE TABLE customer_terms (
    term        TEXT    NOT NULL,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    PRIMARY KEY (term, customer_id)
) WITHOUT ROWID;
CREATE INDEX customer_terms_customer ON customer_terms (customer_id);

-- Tags ('t') and custom groups ('g') one row each, for filters.
CREATE TABLE customer_labels (
    kind        TEXT    NOT NULL CHECK (kind IN ('t', 'g')),
    label       TEXT    NOT NULL,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    PRIMARY KEY (kind, label, customer_id)
) WITHOUT ROWID;
CREATE INDEX customer_labels_customer ON customer_labels (customer_id);
INSERT OR IGNORE INTO customer_labels (kind, label, customer_id)
    SELECT 't', j.value, c.id FROM customers c, json_each(c.tags) j WHERE json_valid(c.tags) AND j.type = 'text';

ALTER TABLE issues ADD COLUMN priority TEXT NOT NULL DEFAULT 'normal'
    CHECK (priority IN ('low', 'normal', 'high', 'urgent'));
ALTER TABLE issues ADD COLUMN owner TEXT NOT NULL DEFAULT '';

CREATE TABLE issue_changes (
    id       INTEGER PRIMARY KEY,
    issue_id INTEGER NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    at       INTEGER NOT NULL,
    actor    TEXT    NOT NULL,
    field    TEXT    NOT NULL,
    before   TEXT    NOT NULL DEFAULT '',
    after    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX issue_changes_issue ON issue_changes (issue_id, at);
CREATE TRIGGER issue_changes_no_update BEFORE UPDATE ON issue_changes
BEGIN SELECT RAISE(ABORT, 'issue_changes is append-only'); END;

-- Orders feed lifetime_value; order_ref makes re-imports idempotent.
CREATE TABLE orders (
    order_ref   TEXT    PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    amount      INTEGER NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX orders_customer ON orders (customer_id);
)sql"},
    Migration{5, "PBX connections added on the admin page", R"sql(
-- Connections from the config file are not here: the file stays their truth.
CREATE TABLE pbx_connections (
    id         TEXT    PRIMARY KEY,
    type       TEXT    NOT NULL,
    settings   TEXT    NOT NULL DEFAULT '{}',
    enabled    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at INTEGER NOT NULL,
    created_by TEXT    NOT NULL DEFAULT ''
) WITHOUT ROWID;
)sql"},
    Migration{6, "supervisors: hang-up side, text index of notes, report rollups", R"sql(
-- Who hung up first (issue 4): NULL when the PBX did not let Ringside tell.
ALTER TABLE calls ADD COLUMN hangup_by TEXT CHECK (hangup_by IN ('caller', 'agent', 'system'));
-- The agent's phone when hangup_by = 'agent'.
ALTER TABLE calls ADD COLUMN hangup_extension TEXT;

-- Text search in the call log ('q': a case-insensitive substring of the notes
-- or the disposition): a trigram index, so a search over a year reads the
-- matching calls instead of every call of the year. External content (the
-- text stays in calls only), keyed by calls' rowid; only calls with some
-- text are indexed, kept so by the triggers below. Ringside never VACUUMs;
-- after a manual VACUUM (which may renumber rowids) rebuild it with
-- DELETE FROM calls_text; INSERT INTO calls_text (rowid, notes, disposition)
-- SELECT rowid, notes, disposition FROM calls WHERE notes <> '' OR disposition <> ''.
CREATE VIRTUAL TABLE calls_text USING fts5(notes, disposition, content = 'calls', content_rowid = 'rowid',
                                           tokenize = 'trigram case_sensitive 0', columnsize = 0);
INSERT INTO calls_text (rowid, notes, disposition)
    SELECT rowid, notes, disposition FROM calls WHERE notes <> '' OR disposition <> '';
CREATE TRIGGER calls_text_insert AFTER INSERT ON calls WHEN new.notes <> '' OR new.disposition <> ''
BEGIN
    INSERT INTO calls_text (rowid, notes, disposition) VALUES (new.rowid, new.notes, new.disposition);
END;
CREATE TRIGGER calls_text_update AFTER UPDATE OF notes, disposition ON calls
WHEN old.notes IS NOT new.notes OR old.disposition IS NOT new.disposition
BEGIN
    INSERT INTO calls_text (calls_text, rowid, notes, disposition)
        SELECT 'delete', old.rowid, old.notes, old.disposition WHERE old.notes <> '' OR old.disposition <> '';
    INSERT INTO calls_text (rowid, notes, disposition)
        SELECT new.rowid, new.notes, new.disposition WHERE new.notes <> '' OR new.disposition <> '';
END;
CREATE TRIGGER calls_text_delete AFTER DELETE ON calls WHEN old.notes <> '' OR old.disposition <> ''
BEGIN
    INSERT INTO calls_text (calls_text, rowid, notes, disposition) VALUES ('delete', old.rowid, old.notes, old.disposition);
END;

-- Reports over long ranges: calls per 15-minute slot (UTC) and status, and
-- answered calls per UTC day and agent, kept by triggers in the transaction
-- of every write to calls, so a report over a year reads some 35,000 slots
-- instead of millions of calls. 15 minutes: local hours and days of every
-- UTC offset in use are whole slots. Rows may hold 0 after a call moved.
CREATE TABLE call_slots (
    slot   INTEGER NOT NULL,  -- started_at / 900000 * 900000 (UTC ms)
    status TEXT    NOT NULL,
    calls  INTEGER NOT NULL,
    PRIMARY KEY (slot, status)
) WITHOUT ROWID;
CREATE TABLE call_agent_days (
    day          INTEGER NOT NULL,  -- started_at / 86400000 * 86400000 (UTC ms)
    agent        TEXT    NOT NULL,
    answered     INTEGER NOT NULL,  -- calls with status 'answered' and this agent
    talk_seconds INTEGER NOT NULL,  -- their talk_seconds summed
    PRIMARY KEY (day, agent)
) WITHOUT ROWID;
INSERT INTO call_slots (slot, status, calls)
    SELECT started_at / 900000 * 900000, status, count(*) FROM calls GROUP BY 1, 2;
INSERT INTO call_agent_days (day, agent, answered, talk_seconds)
    SELECT started_at / 86400000 * 86400000, agent, count(*), sum(talk_seconds) FROM calls
    WHERE status = 'answered' AND agent IS NOT NULL GROUP BY 1, 2;
CREATE TRIGGER call_rollup_insert AFTER INSERT ON calls
BEGIN
    INSERT INTO call_slots (slot, status, calls) VALUES (new.started_at / 900000 * 900000, new.status, 1)
        ON CONFLICT (slot, status) DO UPDATE SET calls = calls + 1;
    INSERT INTO call_agent_days (day, agent, answered, talk_seconds)
        SELECT new.started_at / 86400000 * 86400000, new.agent, 1, new.talk_seconds
        WHERE new.status = 'answered' AND new.agent IS NOT NULL
        ON CONFLICT (day, agent) DO UPDATE SET answered = answered + 1,
                                                talk_seconds = talk_seconds + excluded.talk_seconds;
END;
CREATE TRIGGER call_rollup_update AFTER UPDATE OF started_at, status, agent, talk_seconds ON calls
WHEN old.started_at IS NOT new.started_at OR old.status IS NOT new.status OR old.agent IS NOT new.agent
     OR old.talk_seconds IS NOT new.talk_seconds
BEGIN
    UPDATE call_slots SET calls = calls - 1 WHERE slot = old.started_at / 900000 * 900000 AND status = old.status;
    INSERT INTO call_slots (slot, status, calls) VALUES (new.started_at / 900000 * 900000, new.status, 1)
        ON CONFLICT (slot, status) DO UPDATE SET calls = calls + 1;
    UPDATE call_agent_days SET answered = answered - 1, talk_seconds = talk_seconds - old.talk_seconds
        WHERE old.status = 'answered' AND day = old.started_at / 86400000 * 86400000 AND agent = old.agent;
    INSERT INTO call_agent_days (day, agent, answered, talk_seconds)
        SELECT new.started_at / 86400000 * 86400000, new.agent, 1, new.talk_seconds
        WHERE new.status = 'answered' AND new.agent IS NOT NULL
        ON CONFLICT (day, agent) DO UPDATE SET answered = answered + 1,
                                                talk_seconds = talk_seconds + excluded.talk_seconds;
END;
CREATE TRIGGER call_rollup_delete AFTER DELETE ON calls
BEGIN
    UPDATE call_slots SET calls = calls - 1 WHERE slot = old.started_at / 900000 * 900000 AND status = old.status;
    UPDATE call_agent_days SET answered = answered - 1, talk_seconds = talk_seconds - old.talk_seconds
        WHERE old.status = 'answered' AND day = old.started_at / 86400000 * 86400000 AND agent = old.agent;
END;
)sql"},
    Migration{7, "customer file: audit entries by customer, name search inside words", R"sql(
-- A supervisor reads one customer's audit trail: entries found by the
-- customer id in their detail. json_valid guards rows whose detail is not
-- JSON (the expression must be the same in the query).
CREATE INDEX audit_log_customer
    ON audit_log ((CASE WHEN json_valid(detail) THEN json_extract(detail, '$.id') END), id)
    WHERE action GLOB 'customer*';

-- Name search inside words ("hmad" finds "Ahmadi"): the folded words of
-- each customer (customer_terms, space separated) in an FTS5 trigram index,
-- rowid = customer id. Queries of 3 characters or more use it; shorter ones
-- keep the prefix scan on customer_terms. Migration 8 marks it for filling
-- from the stored terms, which the store does in the background.
CREATE VIRTUAL TABLE customer_names USING fts5(words, tokenize = 'trigram');
)sql"},
    Migration{8, "customer file: computed value scores, background upkeep", R"sql(
-- Value scores computed by Ringside from the customer's history (issue 7).
-- A score with value_score_computed = 0 was set by hand (a supervisor or an
-- import) and is never replaced; one with 1 follows the history. Scores
-- stored before this migration were all set by hand. Adding a column with a
-- constant default rewrites no row, so this is instant at any size.
ALTER TABLE customers ADD COLUMN value_score_computed INTEGER NOT NULL DEFAULT 0;

-- The score's money part compares a customer's lifetime value with the
-- quartiles of everybody's: read from this index by offset.
CREATE INDEX customers_lifetime_value ON customers (lifetime_value) WHERE lifetime_value > 0;

-- The store's own bookkeeping between runs: where a background job stands.
--   customer_names_fill_from: the next customer id whose words go into the
--     trigram index (absent: the index is complete);
--   value_sweep_at / value_sweep_from: when the last daily recount of
--     computed scores finished, and where an unfinished one stands.
CREATE TABLE store_meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;

-- A trigram index left empty by migration 7 beside stored customers is
-- filled in the background from now on (it used to block the open).
INSERT INTO store_meta (key, value)
    SELECT 'customer_names_fill_from', 0
    WHERE NOT EXISTS (SELECT 1 FROM customer_names) AND EXISTS (SELECT 1 FROM customers);
)sql"},
    Migration{9, "customer search: by recent contact", R"sql(
-- "Contacted in the last N days": the customers of recent interactions, by
-- time. A search reads them from here when they are few (a week's worth at
-- a million customers), instead of walking every customer for them.
CREATE INDEX interactions_at ON interactions (at, customer_id);
)sql"},
    Migration{10, "privacy: erasing customers on request, retention, directory users", R"sql(
-- When the customer was erased on request (anonymised for good).
ALTER TABLE customers ADD COLUMN erased_at INTEGER;
-- The DN of a user who signs in through the company directory ([auth.ldap]);
-- NULL for local users, who sign in with their password_hash.
ALTER TABLE users ADD COLUMN directory_dn TEXT;
CREATE INDEX users_directory ON users (username) WHERE directory_dn IS NOT NULL;

-- The audit trail stays append-only with two narrow exceptions, each opened
-- by the store inside the one transaction that needs it:
--   erasing a customer rewrites the detail of earlier entries about them
--   (customer.*) to {"id": N, "erased": true}, nothing else of the row;
--   retention deletes entries older than store_meta.audit_retention_before,
--   a key the store sets and removes in the same transaction.
DROP TRIGGER audit_log_no_update;
DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN NOT (new.id = old.id AND new.at = old.at AND new.actor = old.actor AND new.action = old.action
          AND old.action GLOB 'customer*' AND json_valid(new.detail)
          AND json_extract(new.detail, '$.erased') = 1
          AND json_extract(new.detail, '$.id') IS json_extract(old.detail, '$.id'))
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN old.at >= coalesce((SELECT value FROM store_meta WHERE key = 'audit_retention_before'), -9223372036854775808)
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
)sql"},
    Migration{11, "agent states", R"sql(
-- Every change of an agent's state (ready, not_ready with a reason,
-- wrap_up), appended as it happens: the latest row per agent is their state
-- at start, and consecutive rows give the time spent in each state. `at` is
-- when the state began (ms since the epoch), `wrap_up_until` when a wrap-up
-- turns back to ready, `by` the username who chose it or "system".
CREATE TABLE agent_state_changes (
    id INTEGER PRIMARY KEY,
    agent TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('ready', 'not_ready', 'wrap_up')),
    reason TEXT NOT NULL DEFAULT '',
    at INTEGER NOT NULL,
    wrap_up_until INTEGER,
    by TEXT NOT NULL
);
CREATE INDEX agent_state_changes_agent ON agent_state_changes (agent, id);
CREATE INDEX agent_state_changes_at ON agent_state_changes (at);
CREATE TRIGGER agent_state_changes_no_update BEFORE UPDATE ON agent_state_changes
BEGIN SELECT RAISE(ABORT, 'agent_state_changes is append-only'); END;
)sql"},
};

int read_int_pragma(SQLite::Database& db, const char* pragma) {
    return db.execAndGet(std::string("PRAGMA ") + pragma).getInt();
}

bool has_tables(SQLite::Database& db) {
    return db.execAndGet("SELECT count(*) FROM sqlite_master").getInt() > 0;
}

}  // namespace

int latest_schema_version() { return migrations.back().version; }

int stored_schema_version(SQLite::Database& db) { return read_int_pragma(db, "user_version"); }

int migrate(SQLite::Database& db, const std::string& file, int up_to) {
    auto fail = [&](const std::string& why) { throw StorageError("database " + file + ": " + why); };
    const int newest = latest_schema_version();
    const int latest = up_to > 0 && up_to < newest ? up_to : newest;
    for (;;) {
        db.exec("BEGIN IMMEDIATE");
        try {
            const int app = read_int_pragma(db, "application_id");
            const int version = read_int_pragma(db, "user_version");
            if (app != application_id && (app != 0 || has_tables(db)))
                fail("not a Ringside database (it holds other tables or another application id)");
            if (version > newest)
                fail("written by a newer Ringside (schema version " + std::to_string(version) +
                     ", this build knows up to " + std::to_string(newest) + "); upgrade Ringside to open it");
            if (version >= latest) {
                db.exec("COMMIT");
                return version;
            }
            const Migration* next = nullptr;
            for (const auto& m : migrations)
                if (m.version == version + 1) next = &m;
            if (!next) fail("no migration from schema version " + std::to_string(version));
            db.exec(std::string(next->sql));
            db.exec("PRAGMA application_id = " + std::to_string(application_id));
            db.exec("PRAGMA user_version = " + std::to_string(next->version));
            db.exec("COMMIT");
        } catch (...) {
            try {
                db.exec("ROLLBACK");
            } catch (...) {
            }
            throw;
        }
    }
}

}  // namespace ringside::storage_detail
