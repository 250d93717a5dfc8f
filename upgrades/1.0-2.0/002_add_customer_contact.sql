-- 2.0 has contacts per customer; every customer starts with one, its company contact.
CREATE TABLE customer_contact (
  customer_code VARCHAR(20) NOT NULL,
  contact_no INT NOT NULL,
  name VARCHAR(100) NOT NULL,
  email VARCHAR(200) NULL,
  PRIMARY KEY (customer_code, contact_no),
  CONSTRAINT fk_contact_customer FOREIGN KEY (customer_code) REFERENCES customer (code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
INSERT INTO customer_contact (customer_code, contact_no, name, email)
SELECT code, 1, name, CONCAT(LOWER(code), '@example.com') FROM customer;
