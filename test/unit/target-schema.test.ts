import { describeTables, targetDdl } from '../../activities/target-schema';

const body = [
  '  `id` int NOT NULL AUTO_INCREMENT,',
  "  `name` varchar(50) NOT NULL DEFAULT '' COMMENT 'starts at AUTO_INCREMENT=100 ENGINE=MyISAM',",
  '  `n` int DEFAULT NULL,',
  '  PRIMARY KEY (`id`)',
].join('\n');
const expectedBody = body;

function show(name: string, options: string): string {
  return `CREATE TABLE ${name} (\n${body}\n) ${options}`;
}

describe('targetDdl', () => {
  it('rewrites the header, switches to InnoDB and drops the AUTO_INCREMENT counter', () => {
    expect(targetDdl(show('`item`', 'ENGINE=MyISAM AUTO_INCREMENT=1234 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci'), 'acme_cronus', 'item')).toBe(
      `CREATE TABLE IF NOT EXISTS \`acme_cronus\`.\`item\` (\n${expectedBody}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
    );
  });

  it('leaves InnoDB tables without a counter as they are, apart from the header', () => {
    expect(targetDdl(show('`t`', 'ENGINE=InnoDB DEFAULT CHARSET=latin1'), 'tgt', 't')).toBe(
      `CREATE TABLE IF NOT EXISTS \`tgt\`.\`t\` (\n${expectedBody}\n) ENGINE=InnoDB DEFAULT CHARSET=latin1`,
    );
  });

  it('never touches AUTO_INCREMENT or ENGINE in column definitions and column comments', () => {
    const ddl = targetDdl(show('`t`', 'ENGINE=Aria AUTO_INCREMENT=5 DEFAULT CHARSET=utf8mb4'), 'tgt', 't');
    expect(ddl).toContain('`id` int NOT NULL AUTO_INCREMENT,');
    expect(ddl).toContain("COMMENT 'starts at AUTO_INCREMENT=100 ENGINE=MyISAM'");
    expect(ddl.endsWith('\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4')).toBe(true);
  });

  it('never touches AUTO_INCREMENT or ENGINE inside the table comment', () => {
    const options = "ENGINE=MyISAM DEFAULT CHARSET=utf8mb4 COMMENT='was ENGINE=MyISAM; reset AUTO_INCREMENT=1 weekly'";
    expect(targetDdl(show('`t`', options), 'tgt', 't')).toBe(
      `CREATE TABLE IF NOT EXISTS \`tgt\`.\`t\` (\n${expectedBody}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='was ENGINE=MyISAM; reset AUTO_INCREMENT=1 weekly'`,
    );
  });

  it('drops the counter and keeps the table comment when both are there', () => {
    const options = "ENGINE=InnoDB AUTO_INCREMENT=77 DEFAULT CHARSET=utf8mb4 COMMENT='AUTO_INCREMENT=3'";
    expect(targetDdl(show('`t`', options), 'tgt', 't')).toBe(
      `CREATE TABLE IF NOT EXISTS \`tgt\`.\`t\` (\n${expectedBody}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='AUTO_INCREMENT=3'`,
    );
  });

  it('quotes a table name with backticks, spaces and unicode', () => {
    const name = 'Sales `Line` Ünïcödé 名前';
    const ddl = targetDdl(show('`Sales ``Line`` Ünïcödé 名前`', 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4'), 'acme_cronus', name);
    expect(ddl.split('\n')[0]).toBe('CREATE TABLE IF NOT EXISTS `acme_cronus`.`Sales ``Line`` Ünïcödé 名前` (');
    expect(ddl.split('\n').slice(1).join('\n')).toBe(`${expectedBody}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
  });

  it('keeps a dotted name and a dotted target schema as single identifiers', () => {
    expect(targetDdl(show('`a.b`', 'ENGINE=InnoDB'), 'acme.eu_cronus', 'a.b').split('\n')[0]).toBe(
      'CREATE TABLE IF NOT EXISTS `acme.eu_cronus`.`a.b` (',
    );
  });

  it('copies names with $ literally ($$, $& and $` are not replacement patterns)', () => {
    for (const name of ['t$$x', 'a$&b', 'c$`d', "e$'f", 'CRONUS$Cust$1']) {
      const shown = '`' + name.replace(/`/g, '``') + '`';
      expect(targetDdl(show(shown, 'ENGINE=InnoDB'), 'tgt', name).split('\n')[0]).toBe(
        `CREATE TABLE IF NOT EXISTS \`tgt\`.\`${name.replace(/`/g, '``')}\` (`,
      );
    }
  });

  it('rewrites only the first header occurrence', () => {
    const ddl = targetDdl("CREATE TABLE `t` (\n  `x` varchar(40) DEFAULT 'CREATE TABLE `t`'\n) ENGINE=InnoDB", 'tgt', 't');
    expect(ddl).toBe("CREATE TABLE IF NOT EXISTS `tgt`.`t` (\n  `x` varchar(40) DEFAULT 'CREATE TABLE `t`'\n) ENGINE=InnoDB");
  });

  it('only rewrites the table options line, not partition clauses after it', () => {
    const showCreate = [
      'CREATE TABLE `p` (',
      '  `id` int NOT NULL,',
      '  PRIMARY KEY (`id`)',
      ') ENGINE=InnoDB AUTO_INCREMENT=9 DEFAULT CHARSET=utf8mb4',
      '/*!50100 PARTITION BY RANGE (`id`)',
      '(PARTITION p0 VALUES LESS THAN (10) ENGINE = InnoDB,',
      ' PARTITION p1 VALUES LESS THAN MAXVALUE ENGINE = InnoDB) */',
    ].join('\n');
    expect(targetDdl(showCreate, 'tgt', 'p')).toBe(
      showCreate.replace('CREATE TABLE `p`', 'CREATE TABLE IF NOT EXISTS `tgt`.`p`').replace(' AUTO_INCREMENT=9', ''),
    );
  });

  it('throws on anything that is not SHOW CREATE TABLE output for a table', () => {
    expect(() => targetDdl('CREATE ALGORITHM=UNDEFINED VIEW `v` AS select 1', 'tgt', 'v')).toThrow('unexpected SHOW CREATE TABLE output for v');
    expect(() => targetDdl('CREATE TEMPORARY TABLE `t` (\n  `id` int\n)', 'tgt', 't')).toThrow('unexpected SHOW CREATE TABLE output for t');
    expect(() => targetDdl('create table `t` (`id` int)', 'tgt', 't')).toThrow(/unexpected/);
    expect(() => targetDdl('CREATE TABLE t (`id` int)', 'tgt', 't')).toThrow(/unexpected/);
    expect(() => targetDdl('', 'tgt', 'x')).toThrow('unexpected SHOW CREATE TABLE output for x');
    expect(() => targetDdl(' CREATE TABLE `t` (\n) ENGINE=InnoDB', 'tgt', 't')).toThrow(/unexpected/);
  });
});

describe('describeTables', () => {
  it('names a few tables and counts them all', () => {
    expect(describeTables(['a'])).toBe('1 table (a)');
    expect(describeTables(['a', 'b', 'c', 'd', 'e'])).toBe('5 tables (a, b, c, d, e)');
    expect(describeTables(['a', 'b', 'c', 'd', 'e', 'f', 'g'])).toBe('7 tables (a, b, c, d, e and 2 more)');
  });
});
