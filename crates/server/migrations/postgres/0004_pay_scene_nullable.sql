-- The qrcode scene (issue #19): its requests carry no pay_scene, so
-- orders.pay_scene becomes nullable (NULL: the scene has none). Same
-- meaning as SQLite's 0006.

ALTER TABLE orders ALTER COLUMN pay_scene DROP NOT NULL;
