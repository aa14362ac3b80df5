/// Schema versions, applied in order at open. A migration is never edited once released;
/// a change is a new entry.
enum SQLiteMigrations {
    static let all: [[String]] = [
        // 1: users (HA1 only, never the password).
        [
            """
            CREATE TABLE users (
                username TEXT NOT NULL,
                domain TEXT NOT NULL,
                ha1_md5 TEXT NOT NULL,
                ha1_sha256 TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (username, domain)
            )
            """
        ],
        // 2: registrar bindings.
        [
            """
            CREATE TABLE bindings (
                aor TEXT NOT NULL,
                contact_uri TEXT NOT NULL,
                contact_header TEXT NOT NULL,
                call_id TEXT NOT NULL,
                cseq INTEGER NOT NULL,
                expires_at INTEGER NOT NULL,
                q_value REAL,
                path TEXT NOT NULL,
                received_from TEXT,
                PRIMARY KEY (aor, contact_uri)
            )
            """,
            "CREATE INDEX bindings_expiry ON bindings (expires_at)",
        ],
        // 3: event state publications and subscriptions.
        [
            """
            CREATE TABLE publications (
                entity_tag TEXT PRIMARY KEY,
                resource TEXT NOT NULL,
                event TEXT NOT NULL,
                content_type TEXT NOT NULL,
                body BLOB NOT NULL,
                expires_at INTEGER NOT NULL,
                sequence INTEGER NOT NULL
            )
            """,
            "CREATE INDEX publications_resource ON publications (resource, event)",
            "CREATE INDEX publications_expiry ON publications (expires_at)",
            """
            CREATE TABLE subscriptions (
                id TEXT PRIMARY KEY,
                event TEXT NOT NULL,
                event_id TEXT,
                resource TEXT NOT NULL,
                resource_uri TEXT NOT NULL,
                watcher TEXT NOT NULL,
                watcher_address TEXT NOT NULL,
                watcher_display_name TEXT,
                call_id TEXT NOT NULL,
                local_tag TEXT NOT NULL,
                remote_tag TEXT NOT NULL,
                remote_target TEXT NOT NULL,
                route_set TEXT NOT NULL,
                local_cseq_reserved INTEGER NOT NULL,
                remote_cseq INTEGER NOT NULL,
                expires_at INTEGER NOT NULL,
                status TEXT NOT NULL,
                authorization TEXT NOT NULL,
                destination TEXT NOT NULL,
                created_at INTEGER NOT NULL
            )
            """,
        ],
        // 4: per-user call-forwarding rules.
        [
            """
            CREATE TABLE forwarding_rules (
                username TEXT NOT NULL,
                domain TEXT NOT NULL,
                unconditional TEXT,
                busy TEXT,
                no_answer TEXT,
                no_answer_seconds INTEGER NOT NULL,
                unreachable TEXT,
                PRIMARY KEY (username, domain)
            )
            """,
        ],
        // 5: XCAP documents (RFC 4825).
        [
            """
            CREATE TABLE xcap_documents (
                auid TEXT NOT NULL,
                owner TEXT NOT NULL,
                path TEXT NOT NULL,
                content_type TEXT NOT NULL,
                body BLOB NOT NULL,
                etag TEXT NOT NULL,
                modified_at INTEGER NOT NULL,
                PRIMARY KEY (auid, owner, path)
            )
            """,
            "CREATE INDEX xcap_documents_owner ON xcap_documents (owner)",
        ],
        // 6: publication changes as rows of one INSERT. A batch of PUBLISH changes is then
        // one statement, which SQLite applies atomically and durably on its own: one trip
        // to SQLite's thread per batch instead of BEGIN, a statement or two per change, and
        // COMMIT. Rows apply in order: first the publication `replacing` names goes (a
        // refresh or modify, RFC 3903 §6 step 8, or a removal when `entity_tag` is NULL),
        // then the new one is stored.
        [
            """
            CREATE VIEW publication_changes AS
            SELECT entity_tag, entity_tag AS replacing, resource, event, content_type, body, expires_at, sequence
            FROM publications WHERE 0
            """,
            """
            CREATE TRIGGER publication_changes_apply INSTEAD OF INSERT ON publication_changes
            BEGIN
                DELETE FROM publications WHERE entity_tag = NEW.replacing;
                INSERT OR REPLACE INTO publications (entity_tag, resource, event, content_type, body, expires_at, sequence)
                SELECT NEW.entity_tag, NEW.resource, NEW.event, NEW.content_type, NEW.body, NEW.expires_at, NEW.sequence
                WHERE NEW.entity_tag IS NOT NULL;
            END
            """,
        ],
        // 7: publications lose their expiry index. Only the sweep at startup asks for expired
        // publications (one scan); every PUBLISH paid for the index, two more b-tree pages
        // written to the WAL per modify (the old row's entry out, the new one's in).
        [
            "DROP INDEX publications_expiry",
        ],
        // 8: a subscription's NOTIFY body type, when not its package's usual one (NULL).
        [
            "ALTER TABLE subscriptions ADD COLUMN notify_content_type TEXT",
        ],
    ]
}
