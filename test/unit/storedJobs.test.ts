// Host helpers of "Manage Stored Jobs…", the finished job's summary and the failure texts (no vscode needed):
// the listing of a real state directory with an archive made by StateDir.archive, against the reference terms.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { failureAdvice, failureText } from '../../src/extension/failureText';
import { NumberFormat, archiveTime, formatTook as formatTookWith } from '../../src/common/format';
import { dirSize, listStoredJobs, snapshotTarget, storedJobDetail } from '../../src/extension/storedJobsList';
import { bfileLine, rowIndex } from '../../src/extension/rowContext';
import { StateDir } from '../../src/store';
import { englishTookTexts } from './sourceText';
import { REF_TERMS, tempDirs } from './testUtil';

const { tmpDir } = tempDirs('tn-stored');

describe('finished job summary (formatTook)', () => {
  // As in an English editor: the host's English templates (src/extension/format.ts), English numbers.
  const formatTook = (computeMs: number, runs: number, terms: number) => formatTookWith(computeMs, runs, terms, englishTookTexts(), new NumberFormat('en'));
  it('says the compute time, the runs and the average rate', () => {
    assert.equal(formatTook(80_000, 3, 3360), 'took 1m 20s over 3 runs, 42 terms/s');
    assert.equal(formatTook(4_000, 1, 30), 'took 4.0s over 1 run, 7.5 terms/s');
    assert.equal(formatTook(230, 2, 400), 'took 0.2s over 2 runs, 1739 terms/s');
    assert.equal(formatTook(2 * 3600_000 + 5 * 60_000, 12, 20000), 'took 2h 5m over 12 runs, 2.7 terms/s');
    // A job.json from before runs were counted: no "over 0 runs".
    assert.equal(formatTook(61_000, 0, 0), 'took 1m 1s');
  });
});

describe('archive names (archiveTime)', () => {
  it('reads the time StateDir.archive put in the name, also with a -k suffix; nothing else', () => {
    assert.equal(archiveTime('archive-2026-12-06T233715.123Z'), Date.parse('2026-12-06T23:37:15.123Z'));
    assert.equal(archiveTime('archive-2026-12-06T233715.123Z-2'), Date.parse('2026-12-06T23:37:15.123Z'));
    assert.equal(archiveTime('archive-yesterday'), undefined);
    assert.equal(archiveTime('terms.log'), undefined);
  });
});

describe('failure texts say only what is true for the failure', () => {
  it('disk conditions say what to do; out of memory names the setting; unknown codes keep the terms', () => {
    assert.match(failureAdvice('NO_SPACE'), /Free some disk space/);
    assert.match(failureAdvice('READ_ONLY'), /copy the state directory/);
    assert.match(failureAdvice('IO_ERROR'), /copy the state directory/);
    assert.match(failureAdvice('CORRUPT'), /copy the state directory/);
    for (const c of ['NO_SPACE', 'READ_ONLY', 'IO_ERROR', 'CORRUPT']) assert.doesNotMatch(failureAdvice(c), /intact/, `${c} claims nothing it cannot know`);
    assert.match(failureAdvice('OUT_OF_MEMORY'), /tangentNumbers\.workerMemoryLimitMb/);
    assert.match(failureAdvice('WORKER_ERROR'), /The stored terms are intact/);
    assert.equal(failureAdvice(undefined), '');
    assert.equal(failureText('the disk is full.', 'NO_SPACE'), 'Tangent Numbers: the disk is full. Free some disk space, then Retry; the terms stored so far are kept.');
    assert.equal(failureText('could not start the job: EISDIR', undefined), 'Tangent Numbers: could not start the job: EISDIR.');
  });
});

describe('row context (rowCommands)', () => {
  it('accepts only a row context with a term index; the b-file line is "n T(n)"', () => {
    assert.equal(rowIndex({ webviewSection: 'row', n: 12, webview: 'tangentNumbers.terms', preventDefaultContextMenuItems: true }), 12);
    for (const bad of [undefined, null, 12, { n: 12 }, { webviewSection: 'cell', n: 12 }, { webviewSection: 'row', n: 0 }, { webviewSection: 'row', n: 1.5 }, { webviewSection: 'row', n: '12' }]) {
      assert.equal(rowIndex(bad), undefined, JSON.stringify(bad));
    }
    assert.equal(bfileLine(5, REF_TERMS[4].digits), '5 7936');
  });
});

describe('stored jobs listing (listStoredJobs)', () => {
  it('lists the current job and its archive with terms, target from the newest snapshot, size and date', async () => {
    const dir = path.join(tmpDir('list'), 'state');
    const sd = StateDir.open(dir);
    let archive: string;
    try {
      sd.appendTerms(REF_TERMS.slice(0, 120));
      sd.writeSnapshot({ sequence: 'A000182', algorithm: 'seidel', position: 100, target: 400 }, Buffer.from('a'));
      sd.writeSnapshot({ sequence: 'A000182', algorithm: 'seidel', position: 120, target: 500 }, Buffer.from('b'));
      archive = sd.archive();
      sd.appendTerms(REF_TERMS.slice(0, 30));
    } finally {
      sd.close();
    }
    assert.equal(await snapshotTarget(archive), 500, 'the newest snapshot names the target');
    assert.equal(await snapshotTarget(dir), undefined, 'no snapshot yet');
    const jobs = await listStoredJobs(dir);
    assert.equal(jobs.length, 2);
    const [current, old] = jobs;
    assert.ok(current.current && current.dir === dir);
    assert.equal(current.terms, 30);
    assert.ok(!old.current && old.dir === archive);
    assert.equal(old.terms, 120);
    assert.equal(old.target, 500);
    assert.equal(old.date, archiveTime(path.basename(archive)));
    // Sizes: the archive's files; the current job's without its archives.
    const sum = (d: string) => fs.readdirSync(d).reduce((s, n) => s + (fs.statSync(path.join(d, n)).isDirectory() ? 0 : fs.statSync(path.join(d, n)).size), 0);
    assert.equal(old.bytes, sum(archive));
    assert.equal(current.bytes, sum(dir));
    assert.equal(await dirSize(dir), sum(dir) + sum(archive));
    assert.match(storedJobDetail(old), /^120 terms of 500 · \d+(\.\d)? KB$/);
  });

  it('lists nothing when no job was stored, and says why an unreadable archive cannot be read', async () => {
    const root = tmpDir('none');
    assert.deepEqual(await listStoredJobs(path.join(root, 'state')), []);
    const dir = path.join(root, 'state');
    fs.mkdirSync(path.join(dir, 'archive-2026-01-01T000000.000Z'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'archive-2026-01-01T000000.000Z', 'STATE'), 'not ours\n');
    const jobs = await listStoredJobs(dir);
    const bad = jobs.find((j) => !j.current);
    assert.ok(bad?.problem, 'the foreign archive has a problem');
    assert.equal(bad.terms, 0);
    assert.match(storedJobDetail(bad), /^unreadable: /);
  });
});
