/**
 * Password rules (every rule refused and accepted) and the scrypt hash format.
 */
import t from 'tap';
import { checkPasswordRules, PASSWORD_RULES, hashPassword, verifyPassword, parsePasswordHash, hashNeedsUpgrade, phonePieces, birthDatePieces } from '../../src/auth/passwords.js';

const PERSON = { userId: 'kimclerk', phone: '010-2468-1357', birthDate: '1987-06-23' };
const rules = (pw: string, p: Parameters<typeof checkPasswordRules>[1] = PERSON) => checkPasswordRules(pw, p).map((v) => v.rule);

t.test('accepts strong passwords', async (t) => {
  for (const pw of [
    'correct horse battery', // 21 chars, lower case and symbols (spaces)
    'Gk7#pQ2x', // 8 chars, four kinds
    'gk7#pq2x', // 8 chars, three kinds
    'mint-Tea-92',
    'kq7mz29xwp', // 10 chars, two kinds
    'KQ7MZ29XWP',
    'Zx9!2957bd', // digits not in order
    'Zx9!aabbbQ', // three repeated only
    'Zx9!123bQ', // three in a row only
  ]) {
    t.same(rules(pw), [], pw);
  }
});

t.test('refuses each rule with a stable code and an English message', async (t) => {
  const cases: Array<[string, string[], string]> = [
    ['Ab1!x', ['length'], 'fewer than 8'],
    ['Gk7#pQ2', ['length'], '7 characters, four kinds'],
    ['Gk7#pQ2x'.repeat(17), ['length'], 'more than 128'],
    ['83927105', ['kinds'], 'only digits, 8 (numeric passwords are common on Korean systems)'],
    ['8392710546', ['kinds'], 'only digits, 10'],
    ['83927105469137', ['kinds'], 'only digits, 14'],
    ['kqmzpwxrtv', ['kinds'], 'only lower case, 10'],
    ['gk7pq2xm', ['kinds'], '8 characters of two kinds need three'],
    ['gk7pq2xmt', ['kinds'], '9 characters of two kinds need three'],
    ['Zx9!1234ab', ['sequence'], 'ascending digits'],
    ['Zx9!4321ab', ['sequence'], 'descending digits'],
    ['Zx9!abcdQ', ['sequence'], 'ascending letters'],
    ['Zx9!DCBAq', ['sequence'], 'descending letters, upper case'],
    ['Zx9!aBcDq', ['sequence'], 'letters in order, mixed case'],
    ['Zx9!aaaaQ', ['repeat'], 'repeated letter'],
    ['Zx9!1111Q', ['repeat'], 'repeated digit'],
    ['Zx9!aAaAQ', ['repeat'], 'repeated letter, mixed case'],
    ['Zx9!####Q', ['repeat'], 'repeated symbol'],
    ['Zx9!qwerT', ['keyboard'], 'keyboard row'],
    ['Zx9!ASDFt', ['keyboard'], 'keyboard row, upper case'],
    ['Zx9!7890T', ['keyboard'], 'digit row past 9'],
    ['Zx9!mnbvT', ['keyboard'], 'keyboard row backwards'],
    ['ㅂㅈㄷㄱ#5791X', ['charset'], 'typed with the keyboard in Korean mode'],
    ['Passwörd#92x', ['charset'], 'non-ASCII letter'],
    ['Kimclerk#27', ['user_id'], 'user id, other case'],
    ['x#9kim.clerkQ', ['user_id'], 'user id through a separator'],
    ['Vp#2468xyz', ['phone'], 'middle group of the phone number'],
    ['Vp#1357xyz', ['phone'], 'last group of the phone number'],
    ['Vp#01024681357', ['phone'], 'whole phone number'],
    ['Vp#010-2468-1357', ['phone'], 'whole phone number as written'],
    ['Vp#19870623', ['birth_date'], 'YYYYMMDD'],
    ['Vp#870623q', ['birth_date'], 'YYMMDD'],
    ['Vp#q0623z', ['birth_date'], 'MMDD'],
    ['Vp#1987.06.23', ['birth_date'], 'birth date with separators'],
    ['abcdefgh', ['kinds', 'sequence'], 'several rules at once'],
  ];
  for (const [pw, want, why] of cases) {
    const v = checkPasswordRules(pw, PERSON);
    t.same(v.map((x) => x.rule), want, why);
    for (const x of v) {
      t.ok(PASSWORD_RULES.includes(x.rule as (typeof PASSWORD_RULES)[number]), `${x.rule} is a known code`);
      t.match(x.message, /^the password |^a password of/, 'message says what is wrong');
      t.notMatch(x.message, /2468|1357|0623|1987/, 'message does not quote personal data');
    }
  }
});

t.test('personal rules apply only to what the account gives', async (t) => {
  t.same(rules('Vp#2468xyz', { userId: 'someone' }), [], 'no phone given');
  t.same(rules('Vp#19870623', { userId: 'someone' }), [], 'no birth date given');
  t.same(rules('Vp#2468xyz', { userId: 'someone', phone: '02-2468-9753' }), ['phone'], 'landline groups');
  t.same(rules('Vp#020q2468', { userId: 'someone', phone: '02-2468-9753' }), ['phone'], 'middle group of a landline');
  t.same(rules('Vp#010Qwz92', { userId: 'someone', phone: '010-2468-9753' }), [], 'the carrier prefix 010 alone is not refused');
});

t.test('phone and birth date pieces', async (t) => {
  t.same(phonePieces('010-2468-1357').sort(), ['01024681357', '1357', '2468'].sort());
  t.same(phonePieces('01024681357').sort(), ['01024681357', '1357', '2468'].sort());
  t.same(birthDatePieces('1987-06-23'), ['19870623', '870623', '0623']);
  t.same(birthDatePieces('nonsense'), []);
});

const FAST = { N: 2 ** 10, r: 8, p: 1 };

t.test('hash round trip; the stored format carries its parameters', async (t) => {
  const h = await hashPassword('correct horse battery', FAST);
  t.match(h, /^\$scrypt\$N=1024,r=8,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  const p = parsePasswordHash(h);
  t.same({ N: p.N, r: p.r, p: p.p }, FAST);
  t.equal(p.salt.length, 16);
  t.equal(p.key.length, 32);
  t.equal(await verifyPassword('correct horse battery', h), true);
  t.equal(await verifyPassword('correct horse batterY', h), false);
  t.equal(await verifyPassword('', h), false);
  const h2 = await hashPassword('correct horse battery', FAST);
  t.not(h2, h, 'a fresh salt each time');
  // Parameters come from the stored hash, not from the caller.
  const h4 = await hashPassword('correct horse battery', { N: 2 ** 11, r: 4, p: 2 });
  t.match(h4, /^\$scrypt\$N=2048,r=4,p=2\$/);
  t.equal(await verifyPassword('correct horse battery', h4), true);
  t.equal(hashNeedsUpgrade(h4, FAST), true);
  t.equal(hashNeedsUpgrade(h, FAST), false);
  // Changing the stored parameters changes the result: they are really used.
  t.equal(await verifyPassword('correct horse battery', h.replace('N=1024', 'N=2048')), false);
});

t.test('malformed or hostile stored hashes are refused', async (t) => {
  const h = await hashPassword('correct horse battery', FAST);
  for (const bad of ['', 'plain', h.replace('$scrypt$', '$argon2id$'), h.replace('N=1024', 'N=1000'), h.replace('N=1024', 'N=268435456'), h.replace('r=8', 'r=99'), h.slice(0, -1)]) {
    t.throws(() => parsePasswordHash(bad), { code: 'KEY_ERROR' }, JSON.stringify(bad.slice(0, 30)));
  }
  const key = parsePasswordHash(h).key;
  key[0]! ^= 1;
  const tampered = h.replace(/[^$]+$/, Buffer.from(key).toString('base64url'));
  t.equal(await verifyPassword('correct horse battery', tampered), false, 'a changed key does not verify');
});

t.test('well-known passwords are refused, also disguised (the "common" rule)', async (t) => {
  const { COMMON_PASSWORD_COUNT } = await import('../../src/auth/common-passwords.js');
  t.ok(COMMON_PASSWORD_COUNT > 3000, `${COMMON_PASSWORD_COUNT} passwords on the list (John the Ripper's password.lst, src/auth/common-passwords.json)`);
  for (const pw of ['P@ssw0rd', 'Password1', 'Passw0rd!', 'password123!', 'Welcome2026!', 'Iloveyou!1', 'Sunshine#7', 'Dragon99!', 'Qwerty123!', 'Letmein!23', 'Saranghae1!']) {
    const got = rules(pw, { userId: 'kimclerk' });
    t.ok(got.includes('common'), `${pw} refused as common (${got.join(', ')})`);
  }
  const v = checkPasswordRules('P@ssw0rd', { userId: 'kimclerk' });
  t.match(v.find((x) => x.rule === 'common')?.message, /well-known/, 'the message says why');
  t.comment(`P@ssw0rd -> ${v.map((x) => x.rule).join(', ')}; Password1 -> ${rules('Password1', { userId: 'kimclerk' }).join(', ')}`);
  // Strong passwords that merely end in digits or contain words are not refused for it.
  for (const pw of ['Harbour-Lamp-73', 'Quiet#River58', 'Granite-Owl-61', 'Maple!Stone29', 'Copper-Fern-47', 'correct horse battery', 'Gk7#pQ2x-Lm']) {
    t.notOk(rules(pw, { userId: 'kimclerk' }).includes('common'), `${pw} is not refused as common`);
  }
});
