import {
  columnList, errorText, id, isDataError, isTableError, keyAfter, keyIn, keyString, plainName, qualified, rowBytes, rowKey,
} from '../../activities/sql';

describe('id', () => {
  it('quotes a plain name', () => {
    expect(id('customer')).toBe('`customer`');
  });
  it('keeps a name with a dot as ONE identifier', () => {
    expect(id('a.b')).toBe('`a.b`');
    expect(id('CRONUS.Customer.Ledger')).toBe('`CRONUS.Customer.Ledger`');
  });
  it('doubles backticks', () => {
    expect(id('a`b')).toBe('`a``b`');
    expect(id('`')).toBe('````');
    expect(id('x`.`y')).toBe('`x``.``y`');
  });
  it('passes spaces, $ and unicode through', () => {
    expect(id('Sales Header$1')).toBe('`Sales Header$1`');
    expect(id('Kundé 名前')).toBe('`Kundé 名前`');
  });
});

describe('qualified and columnList', () => {
  it('quotes schema and table separately', () => {
    expect(qualified('my.schema', 'ta`ble')).toBe('`my.schema`.`ta``ble`');
  });
  it('quotes every column, in order', () => {
    expect(columnList(['id', 'a.b', 'c`d'])).toBe('`id`, `a.b`, `c``d`');
    expect(columnList([])).toBe('');
  });
});

describe('plainName', () => {
  it('accepts charset and collation names', () => {
    expect(plainName('utf8mb4')).toBe('utf8mb4');
    expect(plainName('utf8mb4_0900_ai_ci')).toBe('utf8mb4_0900_ai_ci');
    expect(plainName('latin1', 'utf8mb4')).toBe('latin1');
  });
  it('falls back for anything else when a fallback is given', () => {
    expect(plainName(undefined, 'utf8mb4')).toBe('utf8mb4');
    expect(plainName(null, 'utf8mb4')).toBe('utf8mb4');
    expect(plainName('utf8; DROP TABLE x', 'utf8mb4')).toBe('utf8mb4');
    expect(plainName('', 'fb')).toBe('fb');
    expect(plainName(42, 'fb')).toBe('fb');
  });
  it('throws without a fallback, showing the value', () => {
    expect(() => plainName('utf8 x')).toThrow('not a plain charset/collation name: "utf8 x"');
    expect(() => plainName(undefined)).toThrow('not a plain charset/collation name: undefined');
    expect(() => plainName('a-b')).toThrow(/not a plain/);
  });
});

describe('keyAfter', () => {
  it('single key', () => {
    expect(keyAfter(['id'], [5])).toEqual({ sql: '((`id` > ?))', params: [5] });
  });
  it('two-column key: OR form and params in placeholder order', () => {
    expect(keyAfter(['a', 'b'], ['x', 7])).toEqual({
      sql: '((`a` > ?) OR (`a` = ? AND `b` > ?))',
      params: ['x', 'x', 7],
    });
  });
  it('three-column key', () => {
    expect(keyAfter(['a', 'b', 'c'], [1, 2, 3])).toEqual({
      sql: '((`a` > ?) OR (`a` = ? AND `b` > ?) OR (`a` = ? AND `b` = ? AND `c` > ?))',
      params: [1, 1, 2, 1, 2, 3],
    });
  });
  it('one placeholder per param', () => {
    const f = keyAfter(['a', 'b', 'c', 'd'], [1, 2, 3, 4]);
    expect(f.sql.split('?').length - 1).toBe(f.params.length);
    expect(f.params).toEqual([1, 1, 2, 1, 2, 3, 1, 2, 3, 4]);
  });
  it('quotes odd column names and keeps Buffer and string values as given', () => {
    const buf = Buffer.from([0, 255]);
    const f = keyAfter(['a.b', 'c`d'], [buf, '9007199254740993']);
    expect(f.sql).toBe('((`a.b` > ?) OR (`a.b` = ? AND `c``d` > ?))');
    expect(f.params).toEqual([buf, buf, '9007199254740993']);
    expect(f.params[0]).toBe(buf);
  });
});

describe('keyIn', () => {
  it('matches nothing for no keys', () => {
    expect(keyIn(['id'], [])).toEqual({ sql: '1 = 0', params: [] });
    expect(keyIn(['a', 'b'], [])).toEqual({ sql: '1 = 0', params: [] });
  });
  it('single key: one IN with the list as one param', () => {
    expect(keyIn(['id'], [[1], [2], ['3']])).toEqual({ sql: '`id` IN (?)', params: [[1, 2, '3']] });
  });
  it('composite key: one AND group per key, params flattened in order', () => {
    expect(keyIn(['a', 'b'], [[1, 'x'], [2, 'y']])).toEqual({
      sql: '((`a` = ? AND `b` = ?) OR (`a` = ? AND `b` = ?))',
      params: [1, 'x', 2, 'y'],
    });
  });
  it('composite key with one key', () => {
    expect(keyIn(['a', 'b.c'], [[1, null]])).toEqual({ sql: '((`a` = ? AND `b.c` = ?))', params: [1, null] });
  });
});

describe('keyString', () => {
  it('is JSON of strings, with null for null and undefined', () => {
    expect(keyString([1, 'a', null, undefined])).toBe('["1","a",null,null]');
  });
  it('writes Buffers as hex', () => {
    expect(keyString([Buffer.from([0x00, 0xab, 0xff])])).toBe('["0x00abff"]');
    expect(keyString([Buffer.alloc(0)])).toBe('["0x"]');
  });
  it('makes a number and its string equal (drivers return INT as number, BIGINT as string)', () => {
    expect(keyString([1, 2])).toBe(keyString(['1', '2']));
    expect(keyString([BigInt('9007199254740993')])).toBe(keyString(['9007199254740993']));
  });
  it('keeps distinct tuples distinct', () => {
    expect(keyString([null])).not.toBe(keyString(['null']));
    expect(keyString(['a,b'])).not.toBe(keyString(['a', 'b']));
    expect(keyString(['a', 'b'])).not.toBe(keyString(['b', 'a']));
    expect(keyString([Buffer.from('ab')])).not.toBe(keyString(['ab']));
    expect(keyString(['1'])).not.toBe(keyString(['1.0']));
  });
});

describe('rowKey', () => {
  it('picks key values in key order', () => {
    expect(rowKey({ a: 1, b: 'x', c: null }, ['c', 'a'])).toEqual([null, 1]);
  });
});

describe('rowBytes', () => {
  it('is 0 for an empty row', () => {
    expect(rowBytes([])).toBe(0);
  });
  it('counts null/undefined as 4, Buffers as hex plus 3, other values as text plus 3', () => {
    expect(rowBytes([null])).toBe(4);
    expect(rowBytes([undefined])).toBe(4);
    expect(rowBytes([Buffer.from([1, 2, 3])])).toBe(9);
    expect(rowBytes(['abc'])).toBe(6);
    expect(rowBytes([12345])).toBe(8);
    expect(rowBytes([''])).toBe(3);
    expect(rowBytes([null, Buffer.alloc(10), 'hello', 1.5])).toBe(4 + 23 + 8 + 6);
  });
  it('counts UTF-8 bytes, not characters, for multibyte text', () => {
    expect(rowBytes(['é'])).toBe(2 + 3);
    expect(rowBytes(['名前'])).toBe(6 + 3);
    expect(rowBytes(['😀'])).toBe(4 + 3);
  });
});

describe('isDataError', () => {
  it.each([1048, 1264, 1265, 1292, 1366, 1367, 1406, 1411, 1452, 3140, 3819, 4025])('errno %i is a data error', (errno) => {
    expect(isDataError({ errno, sqlState: 'HY000' })).toBe(true);
  });
  it('is false for other errors and non-errors', () => {
    expect(isDataError({ errno: 1062 })).toBe(false); // duplicate key
    expect(isDataError({ errno: 1146 })).toBe(false); // no such table
    expect(isDataError({})).toBe(false);
    expect(isDataError(null)).toBe(false);
    expect(isDataError(undefined)).toBe(false);
    expect(isDataError(1366)).toBe(false);
    expect(isDataError('1366')).toBe(false);
  });
  it('accepts an errno given as a string', () => {
    expect(isDataError({ errno: '1406' })).toBe(true);
  });
  it('works on real Error objects', () => {
    expect(isDataError(Object.assign(new Error('Data too long'), { errno: 1406 }))).toBe(true);
  });
});

describe('isTableError', () => {
  it('is true for SQLSTATE class 42 (missing table, bad column, no privilege)', () => {
    expect(isTableError({ sqlState: '42S02', errno: 1146 })).toBe(true);
    expect(isTableError({ sqlState: '42S22', errno: 1054 })).toBe(true);
    expect(isTableError({ sqlState: '42000', errno: 1142 })).toBe(true);
    expect(isTableError(Object.assign(new Error('gone'), { sqlState: '42S02' }))).toBe(true);
  });
  it('is false for a data error even in class 42', () => {
    expect(isTableError({ sqlState: '42000', errno: 1366 })).toBe(false);
  });
  it('is false for other classes and for errors without a state', () => {
    expect(isTableError({ sqlState: '23000', errno: 1062 })).toBe(false);
    expect(isTableError({ sqlState: '08S01' })).toBe(false);
    expect(isTableError({ sqlState: 'HY000' })).toBe(false);
    expect(isTableError({ code: 'ECONNREFUSED' })).toBe(false);
    expect(isTableError(new Error('x'))).toBe(false);
    expect(isTableError(null)).toBe(false);
    expect(isTableError(undefined)).toBe(false);
    expect(isTableError({ sqlState: 42 })).toBe(false);
  });
});

describe('errorText', () => {
  it('uses the message of an Error, String() otherwise', () => {
    expect(errorText(new Error('boom'))).toBe('boom');
    expect(errorText('plain')).toBe('plain');
    expect(errorText(42)).toBe('42');
  });
});

describe('reviveKey (a resumed copy of a table with a binary key)', () => {
  it('turns the JSON form of a Buffer, as heartbeat details bring it back, into the Buffer again', () => {
    const { defaultPayloadConverter } = require('@temporalio/common') as typeof import('@temporalio/common');
    const { reviveKey } = require('../../activities/sql') as typeof import('../../activities/sql');
    const key = [Buffer.from([0, 255, 16]), 'x', 7, null];
    const back = defaultPayloadConverter.fromPayload<unknown[]>(defaultPayloadConverter.toPayload(key));
    expect(Buffer.isBuffer(back[0])).toBe(false); // what the resume used to pass to mysql2
    expect(reviveKey(back)).toEqual(key);
  });
});
