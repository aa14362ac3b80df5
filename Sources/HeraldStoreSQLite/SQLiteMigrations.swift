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
    ]
}
