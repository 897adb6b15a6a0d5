-- larder 0001: the catalog's system of record.  One column per product field of API.md; larder
-- reads the table with COPY (larder import --from-postgres, larder serve) and follows changes
-- through the NOTIFYs below (channel larder_products, payload: one sku, or "*" for "reconcile
-- everything": a TRUNCATE, or a statement that changed more than 1000 rows).

CREATE TABLE products (
    sku             text PRIMARY KEY CHECK (sku ~ '^[A-Za-z0-9._-]{1,64}$'),
    name_en         text,
    name_vi         text,
    description_en  text,
    description_vi  text,
    category        text NOT NULL,
    brand           text,
    price           bigint NOT NULL CHECK (price >= 0),
    unit            text,
    perishable      boolean NOT NULL DEFAULT false,
    shelf_life_days integer CHECK (shelf_life_days >= 0),
    tags            text[] NOT NULL DEFAULT '{}',
    substitutes     text[] NOT NULL DEFAULT '{}',
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (name_en IS NOT NULL OR name_vi IS NOT NULL)
);

CREATE INDEX products_updated_at ON products (updated_at);

-- updated_at is the time of the last change, whatever the writer says
CREATE FUNCTION larder_products_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END $$;

CREATE TRIGGER products_touch BEFORE INSERT OR UPDATE ON products
    FOR EACH ROW EXECUTE FUNCTION larder_products_touch();

-- One NOTIFY per changed sku (an UPDATE that renames a sku names both), delivered at commit;
-- a statement that changed more than 1000 rows sends "*" instead.
CREATE FUNCTION larder_products_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    skus text[];
    s    text;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('larder_products', '*');
        RETURN NULL;
    ELSIF TG_OP = 'INSERT' THEN
        SELECT array_agg(sku) INTO skus FROM new_rows;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(sku) INTO skus
          FROM (SELECT sku FROM new_rows UNION SELECT sku FROM old_rows) AS changed;
    ELSE
        SELECT array_agg(sku) INTO skus FROM old_rows;
    END IF;
    IF skus IS NULL THEN
        RETURN NULL;
    END IF;
    IF cardinality(skus) > 1000 THEN
        PERFORM pg_notify('larder_products', '*');
        RETURN NULL;
    END IF;
    FOREACH s IN ARRAY skus LOOP
        PERFORM pg_notify('larder_products', s);
    END LOOP;
    RETURN NULL;
END $$;

CREATE TRIGGER products_notify_insert AFTER INSERT ON products
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION larder_products_notify();
CREATE TRIGGER products_notify_update AFTER UPDATE ON products
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION larder_products_notify();
CREATE TRIGGER products_notify_delete AFTER DELETE ON products
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION larder_products_notify();
CREATE TRIGGER products_notify_truncate AFTER TRUNCATE ON products
    FOR EACH STATEMENT EXECUTE FUNCTION larder_products_notify();
