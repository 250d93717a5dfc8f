-- 2.0 keeps the house number apart from the street: "Baker Street 138" → address "Baker Street", house_no "138".
ALTER TABLE customer ADD COLUMN house_no VARCHAR(20) NULL AFTER address;
UPDATE customer
   SET house_no = SUBSTRING_INDEX(address, ' ', -1),
       address  = TRIM(LEFT(address, CHAR_LENGTH(address) - CHAR_LENGTH(SUBSTRING_INDEX(address, ' ', -1))))
 WHERE address REGEXP ' [0-9]+[A-Za-z]?$';
