-- Scene-specific fields of an order (issue #20): the jsapi scene's
-- scene_type, openid / sub_openid, receipt, goods_tag, detail and
-- scene_info, as one JSON object of strings (store/rows.rs reads and writes
-- it). NULL for every order of a scene without such fields (web, wap, app),
-- so existing rows stay as they are. Adding a nullable column needs no
-- table rebuild in SQLite.

ALTER TABLE orders ADD COLUMN scene_fields TEXT;
