-- Seed of the bundled stack's revenue database (service revenue-db).
-- Run once, on the first start of an empty data volume, by the image's
-- entrypoint (mounted read-only into /docker-entrypoint-initdb.d/).
-- The automation-scripts sample (revenue-tracking) and tests read it.

CREATE TABLE revenue (
    id          serial PRIMARY KEY,
    source      text          NOT NULL,
    amount_usd  numeric(12,2) NOT NULL CHECK (amount_usd >= 0),
    recorded_on date          NOT NULL
);

INSERT INTO revenue (source, amount_usd, recorded_on) VALUES
    ('digitalocean-affiliate', 120.00, DATE '2026-01-31'),
    ('customgpt-affiliate',     75.50, DATE '2026-01-31'),
    ('aws-marketplace',        310.25, DATE '2026-02-28'),
    ('huggingface-sponsors',    42.00, DATE '2026-02-28'),
    ('enterprise-pilot',      1500.00, DATE '2026-03-31');
