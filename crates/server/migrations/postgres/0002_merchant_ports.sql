-- Ports other than 80/443 a merchant may use for notify_url/return_url in
-- production (the API page: "other ports need to apply"). Comma-separated.
ALTER TABLE merchants ADD COLUMN allowed_ports TEXT NOT NULL DEFAULT '';
