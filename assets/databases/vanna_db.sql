-- Demo target database for vannactl: a small wholesale business (regions, customers, products,
-- employees, orders, payments). Deterministic: every row is derived from its sequence number, so
-- building this script twice gives identical data. vanna_db.db is built from this file
-- (tests/demo_target_db.rs checks that the two agree; VANNACTL_UPDATE_ASSETS=1 rebuilds it).
PRAGMA foreign_keys = ON;
BEGIN;

CREATE TABLE regions (
    region_id   INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    country     TEXT NOT NULL
);

CREATE TABLE product_categories (
    category_id INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT
);

CREATE TABLE products (
    product_id   INTEGER PRIMARY KEY,
    sku          TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    category_id  INTEGER NOT NULL REFERENCES product_categories(category_id),
    unit_price   NUMERIC(10,2) NOT NULL CHECK (unit_price > 0),
    unit_cost    NUMERIC(10,2) NOT NULL CHECK (unit_cost > 0),
    discontinued INTEGER NOT NULL DEFAULT 0 CHECK (discontinued IN (0, 1))
);
CREATE INDEX idx_products_category ON products(category_id);

CREATE TABLE employees (
    employee_id INTEGER PRIMARY KEY,
    first_name  TEXT NOT NULL,
    last_name   TEXT NOT NULL,
    title       TEXT NOT NULL,
    region_id   INTEGER NOT NULL REFERENCES regions(region_id),
    manager_id  INTEGER REFERENCES employees(employee_id),
    hired_on    DATE NOT NULL
);
CREATE INDEX idx_employees_region ON employees(region_id);

CREATE TABLE customers (
    customer_id  INTEGER PRIMARY KEY,
    company_name TEXT NOT NULL,
    segment      TEXT NOT NULL CHECK (segment IN ('enterprise', 'mid-market', 'small business')),
    region_id    INTEGER NOT NULL REFERENCES regions(region_id),
    account_manager_id INTEGER REFERENCES employees(employee_id),
    created_on   DATE NOT NULL
);
CREATE INDEX idx_customers_region ON customers(region_id);

CREATE TABLE orders (
    order_id    INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(customer_id),
    employee_id INTEGER NOT NULL REFERENCES employees(employee_id),
    order_date  DATE NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'shipped', 'delivered', 'cancelled')),
    ship_region_id INTEGER NOT NULL REFERENCES regions(region_id)
);
CREATE INDEX idx_orders_customer ON orders(customer_id);
CREATE INDEX idx_orders_date ON orders(order_date);

CREATE TABLE order_items (
    order_id   INTEGER NOT NULL REFERENCES orders(order_id),
    line_no    INTEGER NOT NULL,
    product_id INTEGER NOT NULL REFERENCES products(product_id),
    quantity   INTEGER NOT NULL CHECK (quantity > 0),
    unit_price NUMERIC(10,2) NOT NULL,
    discount   NUMERIC(4,2) NOT NULL DEFAULT 0 CHECK (discount >= 0 AND discount < 1),
    PRIMARY KEY (order_id, line_no)
);
CREATE INDEX idx_order_items_product ON order_items(product_id);

CREATE TABLE payments (
    payment_id INTEGER PRIMARY KEY,
    order_id   INTEGER NOT NULL REFERENCES orders(order_id),
    paid_on    DATE NOT NULL,
    amount     NUMERIC(12,2) NOT NULL,
    method     TEXT NOT NULL CHECK (method IN ('card', 'bank transfer', 'invoice'))
);
CREATE INDEX idx_payments_order ON payments(order_id);

INSERT INTO regions (region_id, name, country) VALUES
    (1, 'North', 'Germany'), (2, 'South', 'Germany'), (3, 'Benelux', 'Netherlands'),
    (4, 'Nordics', 'Sweden'), (5, 'Iberia', 'Spain'), (6, 'Alps', 'Switzerland');

INSERT INTO product_categories (category_id, name, description) VALUES
    (1, 'Beverages', 'Coffee, tea, juices and soft drinks'),
    (2, 'Bakery', 'Bread, pastries and cakes'),
    (3, 'Dairy', 'Milk, cheese and yoghurt'),
    (4, 'Produce', 'Fresh fruit and vegetables'),
    (5, 'Pantry', 'Pasta, rice, oils and canned goods'),
    (6, 'Household', 'Cleaning and paper goods');

-- 60 products: 10 per category, prices from the sequence number.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60)
INSERT INTO products (product_id, sku, name, category_id, unit_price, unit_cost, discontinued)
SELECT i,
       printf('SKU-%04d', i),
       (SELECT name FROM product_categories WHERE category_id = (i - 1) / 10 + 1) || ' item ' || ((i - 1) % 10 + 1),
       (i - 1) / 10 + 1,
       round(2.5 + (i * 37 % 97) * 0.75, 2),
       round((2.5 + (i * 37 % 97) * 0.75) * (0.55 + (i % 5) * 0.05), 2),
       CASE WHEN i % 17 = 0 THEN 1 ELSE 0 END
FROM n;

-- 30 employees: the head of sales (1), regional managers (2-6) reporting to 1, sales reps reporting to them.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30)
INSERT INTO employees (employee_id, first_name, last_name, title, region_id, manager_id, hired_on)
SELECT i,
       (SELECT value FROM json_each('["Anna","Ben","Clara","David","Eva","Felix","Greta","Hugo","Ines","Jonas"]') WHERE key = i % 10),
       (SELECT value FROM json_each('["Meyer","Jansen","Lund","Garcia","Huber","Schmidt","Visser","Berg","Lopez","Keller","Novak"]') WHERE key = i % 11),
       CASE WHEN i = 1 THEN 'Head of Sales' WHEN i <= 6 THEN 'Regional Manager' ELSE 'Sales Representative' END,
       CASE WHEN i <= 6 THEN i ELSE (i % 6) + 1 END,
       CASE WHEN i = 1 THEN NULL WHEN i <= 6 THEN 1 ELSE (i % 6) + 1 END,
       date('2015-01-05', '+' || (i * 97) || ' days')
FROM n;

-- 400 customers.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
INSERT INTO customers (customer_id, company_name, segment, region_id, account_manager_id, created_on)
SELECT i,
       (SELECT value FROM json_each('["Alpen","Baltic","Central","Delta","Euro","Fjord","Global","Harbor","Iris","Juniper","Kestrel","Lumen"]') WHERE key = i % 12)
         || ' ' ||
       (SELECT value FROM json_each('["Foods","Markets","Traders","Grocers","Supplies","Retail","Wholesale","Kitchens"]') WHERE key = (i / 12) % 8)
         || ' #' || i,
       CASE WHEN i % 10 = 0 THEN 'enterprise' WHEN i % 3 = 0 THEN 'mid-market' ELSE 'small business' END,
       (i % 6) + 1,
       CASE WHEN i % 25 = 0 THEN NULL ELSE 7 + (i % 24) END,
       date('2019-01-01', '+' || (i * 3) || ' days')
FROM n;

-- 2,500 orders from 2022 to 2025.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500)
INSERT INTO orders (order_id, customer_id, employee_id, order_date, status, ship_region_id)
SELECT i,
       (i * 7919 % 400) + 1,
       7 + (i * 31 % 24),
       date('2022-01-01', '+' || (i * 1461 / 2500) || ' days'),
       CASE WHEN i % 29 = 0 THEN 'cancelled' WHEN i > 2440 THEN 'pending' WHEN i > 2380 THEN 'shipped' ELSE 'delivered' END,
       ((i * 7919 % 400) + 1) % 6 + 1
FROM n;

-- 1 to 4 lines per order.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500),
     l(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM l WHERE k < 4)
INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price, discount)
SELECT n.i, l.k,
       ((n.i * 13 + l.k * 17) % 60) + 1,
       1 + ((n.i + l.k * 5) % 24),
       (SELECT unit_price FROM products WHERE product_id = ((n.i * 13 + l.k * 17) % 60) + 1),
       CASE WHEN (n.i + l.k) % 9 = 0 THEN 0.10 WHEN (n.i + l.k) % 13 = 0 THEN 0.05 ELSE 0 END
FROM n JOIN l ON l.k <= 1 + (n.i % 4);

-- One payment per delivered order, paid 5 to 44 days after ordering.
INSERT INTO payments (order_id, paid_on, amount, method)
SELECT o.order_id,
       date(o.order_date, '+' || (5 + o.order_id % 40) || ' days'),
       (SELECT round(sum(quantity * unit_price * (1 - discount)), 2) FROM order_items WHERE order_id = o.order_id),
       CASE o.order_id % 3 WHEN 0 THEN 'card' WHEN 1 THEN 'bank transfer' ELSE 'invoice' END
FROM orders o
WHERE o.status = 'delivered'
ORDER BY o.order_id;

CREATE VIEW order_revenue AS
SELECT o.order_id,
       o.order_date,
       o.customer_id,
       c.company_name,
       r.name AS region,
       o.status,
       round(sum(oi.quantity * oi.unit_price * (1 - oi.discount)), 2) AS revenue,
       round(sum(oi.quantity * (oi.unit_price * (1 - oi.discount) - p.unit_cost)), 2) AS gross_margin
FROM orders o
JOIN customers c ON c.customer_id = o.customer_id
JOIN regions r ON r.region_id = o.ship_region_id
JOIN order_items oi ON oi.order_id = o.order_id
JOIN products p ON p.product_id = oi.product_id
GROUP BY o.order_id;

COMMIT;
