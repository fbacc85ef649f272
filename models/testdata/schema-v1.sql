-- The schema main creates before versioned migrations (AutoMigrate of User, StoreEntry,
-- SetupToken, Account, AuditEvent, KV), dumped with sqlite3 .schema; sqlite_sequence left out.
CREATE TABLE `users` (`id` integer PRIMARY KEY AUTOINCREMENT,`email` text NOT NULL,`name` text,`role` text NOT NULL,`password_hash` text NOT NULL,`disabled` numeric NOT NULL DEFAULT false,`lang` text,`time_zone` text,`session_epoch` integer NOT NULL DEFAULT 0,`created_at` datetime,`updated_at` datetime,`last_login_at` datetime);
CREATE UNIQUE INDEX `idx_users_email` ON `users`(`email`);
CREATE TABLE `store_entries` (`key_hash` text,`value` blob NOT NULL,`expires_at` datetime,PRIMARY KEY (`key_hash`));
CREATE INDEX `idx_store_entries_expires_at` ON `store_entries`(`expires_at`);
CREATE TABLE `setup_tokens` (`id` integer PRIMARY KEY AUTOINCREMENT,`token_hash` text NOT NULL,`expires_at` datetime NOT NULL,`used_at` datetime,`created_at` datetime);
CREATE UNIQUE INDEX `idx_setup_tokens_token_hash` ON `setup_tokens`(`token_hash`);
CREATE TABLE `accounts` (`id` integer PRIMARY KEY AUTOINCREMENT,`name` text NOT NULL,`kind` text NOT NULL,`endpoint` text,`disabled` numeric NOT NULL DEFAULT false,`rate_limit` real,`timeout_seconds` integer,`settings` text NOT NULL DEFAULT "{}",`secrets` text NOT NULL DEFAULT "",`secret_names` text,`created_at` datetime,`updated_at` datetime);
CREATE INDEX `idx_accounts_kind` ON `accounts`(`kind`);
CREATE TABLE `audit_events` (`id` integer PRIMARY KEY AUTOINCREMENT,`at` datetime NOT NULL,`actor_id` integer,`actor_email` text,`actor_role` text,`action` text NOT NULL,`target` text,`account_id` integer,`before` text,`after` text,`outcome` text NOT NULL,`message` text,`vendor_request_id` text,`ip` text,`user_agent` text,`request_id` text,`attempt_id` integer,`prev_hash` text NOT NULL,`hash` text NOT NULL);
CREATE UNIQUE INDEX `idx_audit_events_hash` ON `audit_events`(`hash`);
CREATE INDEX `idx_audit_events_attempt_id` ON `audit_events`(`attempt_id`);
CREATE INDEX `idx_audit_events_request_id` ON `audit_events`(`request_id`);
CREATE INDEX `idx_audit_events_outcome` ON `audit_events`(`outcome`);
CREATE INDEX `idx_audit_events_account_id` ON `audit_events`(`account_id`);
CREATE INDEX `idx_audit_events_target` ON `audit_events`(`target`);
CREATE INDEX `idx_audit_events_action` ON `audit_events`(`action`);
CREATE INDEX `idx_audit_events_actor_email` ON `audit_events`(`actor_email`);
CREATE INDEX `idx_audit_events_actor_id` ON `audit_events`(`actor_id`);
CREATE INDEX `idx_audit_events_at` ON `audit_events`(`at`);
CREATE TABLE `kvs` (`key` text,`value` text,PRIMARY KEY (`key`));
