namespace Scion.Server.FineTuning;

/// <summary>
/// The store's schema as numbered migrations: migration i brings the database to user_version i + 1. A shipped
/// migration is never edited; a change is a new one appended here.
/// </summary>
internal static class SqliteMigrations
{
    public static readonly string[] All =
    [
        // 1: files, jobs, events, checkpoints. seq columns give a total order for newest-first paging.
        """
        CREATE TABLE files (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            filename TEXT NOT NULL,
            purpose TEXT NOT NULL,
            bytes INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            path TEXT NOT NULL
        );
        CREATE TABLE jobs (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL,
            model TEXT NOT NULL,
            training_file TEXT NOT NULL,
            validation_file TEXT,
            suffix TEXT,
            seed INTEGER NOT NULL,
            status TEXT NOT NULL,
            spec TEXT NOT NULL,
            fine_tuned_model TEXT,
            trained_tokens INTEGER NOT NULL DEFAULT 0,
            finished_at INTEGER,
            error_code TEXT,
            error_message TEXT,
            error_param TEXT
        );
        CREATE INDEX jobs_status ON jobs (status);
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            job_id TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            level TEXT NOT NULL,
            message TEXT NOT NULL,
            type TEXT NOT NULL,
            data TEXT,
            step INTEGER
        );
        CREATE INDEX events_job ON events (job_id, seq);
        CREATE TABLE checkpoints (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            job_id TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            step INTEGER NOT NULL,
            model TEXT NOT NULL,
            train_loss REAL,
            valid_loss REAL,
            trained_tokens INTEGER NOT NULL,
            path TEXT NOT NULL
        );
        CREATE INDEX checkpoints_job ON checkpoints (job_id, seq);
        """,
    ];
}
