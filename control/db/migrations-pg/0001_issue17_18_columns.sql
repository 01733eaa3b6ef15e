CREATE TABLE "pull_limits" (
	"cluster_name" text PRIMARY KEY NOT NULL,
	"limits" jsonb NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "services" ADD COLUMN "discovery" jsonb;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "deactivating_at" bigint;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "deactivation_ends_at" bigint;