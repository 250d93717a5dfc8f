import { workingCopyDdl } from '../../activities/restore-point';

const parked = [
  'CREATE TABLE `a_child` (',
  '  `id` int(11) NOT NULL,',
  '  `parent_id` int(11) NOT NULL,',
  "  `note` varchar(40) DEFAULT 'REFERENCES `cm_rp_x`.',",
  '  PRIMARY KEY (`id`),',
  '  CONSTRAINT `fk_parent` FOREIGN KEY (`parent_id`) REFERENCES `z_parent` (`id`) ON DELETE CASCADE,',
  '  CONSTRAINT `fk_other` FOREIGN KEY (`parent_id`, `id`) REFERENCES `cm_rp_b`.`o``dd` (`a`, `b`),',
  '  CONSTRAINT `fk_outside` FOREIGN KEY (`id`) REFERENCES `lookup`.`codes` (`id`)',
  ') ENGINE=InnoDB AUTO_INCREMENT=7 DEFAULT CHARSET=utf8mb4',
].join('\n');

it('a working copy references the working schemas where its original references a parking schema of the point', () => {
  const ddl = workingCopyDdl(parked, 'co_a', 'a_child', new Map([['cm_rp_x', 'co_a'], ['cm_rp_b', 'co_b']]));
  expect(ddl).toContain('CREATE TABLE IF NOT EXISTS `co_a`.`a_child` (');
  expect(ddl).toContain('REFERENCES `z_parent` (`id`) ON DELETE CASCADE'); // unqualified: the copy's own schema
  expect(ddl).toContain('REFERENCES `co_b`.`o``dd` (`a`, `b`)');
  expect(ddl).toContain('REFERENCES `lookup`.`codes` (`id`)'); // not a parking schema: left alone
  expect(ddl).toContain("DEFAULT 'REFERENCES `cm_rp_x`.'"); // text is never rewritten
  expect(ddl).toMatch(/\n\) AUTO_INCREMENT=7 ENGINE=InnoDB DEFAULT CHARSET=utf8mb4$/); // the original's next value, in the CREATE
});

it('a working copy of a table without AUTO_INCREMENT gets none, and a comment mentioning one is not read', () => {
  const plain = "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='AUTO_INCREMENT=9'";
  const ddl = workingCopyDdl(plain, 'co_a', 't', new Map());
  expect(ddl).not.toMatch(/\) AUTO_INCREMENT/);
  expect(ddl).toContain("COMMENT='AUTO_INCREMENT=9'");
});
