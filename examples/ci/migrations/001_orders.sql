-- A schema change as a CI job makes it: logged in as the user Vault made
-- for this job, acting as the owner role, so the table belongs to
-- myapp_owner and stays when Vault drops the user.
SET ROLE myapp_owner;

CREATE TABLE IF NOT EXISTS orders (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id   int NOT NULL,
    placed_at timestamptz NOT NULL DEFAULT now()
);

RESET ROLE;
\echo migration 001_orders applied by :USER
