import t from 'tap';
import { classifyError, classifyStatus } from '../agent/probes/classify.js';
import { RESULT_CLASSES, type ResultClass } from '../report/schema.js';

const codes: Array<[unknown, ResultClass]> = [
  [{ code: 'ECONNREFUSED' }, 'refused'],
  [{ code: 'ECONNRESET' }, 'reset'],
  [{ code: 'EPIPE' }, 'reset'],
  [{ code: 'ETIMEDOUT' }, 'timeout'],
  [Object.assign(new Error('aborted'), { name: 'AbortError', code: 'ABORT_ERR' }), 'timeout'],
  [{ code: 'ENOTFOUND' }, 'dns_nxdomain'],
  [{ code: 'EAI_AGAIN' }, 'dns_error'],
  [{ code: 'EHOSTUNREACH' }, 'unreachable'],
  [{ code: 'ENETUNREACH' }, 'unreachable'],
  [{ code: 'CERT_HAS_EXPIRED' }, 'tls_error'],
  [{ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }, 'tls_error'],
  [{ code: 'SELF_SIGNED_CERT_IN_CHAIN' }, 'tls_error'],
  [{ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, 'tls_error'],
  [{ code: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' }, 'tls_error'],
  [{ code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, 'tls_error'],
  [{ code: 'ERR_SSL_WRONG_VERSION_NUMBER' }, 'tls_error'],
  [{ code: 'EPROTO' }, 'tls_error'],
  [{ code: 'EADDRINUSE' }, 'error'],
  [{ code: 42 }, 'error'],
  [new Error('no code'), 'error'],
  ['a string', 'error'],
  [null, 'error'],
];

t.test('error codes', async (t) => {
  for (const [err, want] of codes) t.equal(classifyError(err), want, JSON.stringify(err));
});

t.test('HTTP status classes', async (t) => {
  const statuses: Array<[number, ResultClass]> = [
    [200, 'ok'],
    [204, 'ok'],
    [301, 'ok'],
    [399, 'ok'],
    [100, 'http_error'],
    [400, 'http_error'],
    [404, 'http_error'],
    [500, 'http_error'],
    [503, 'http_error'],
    [0, 'http_error'],
  ];
  for (const [status, want] of statuses) t.equal(classifyStatus(status), want, String(status));
});

t.test('every class the table yields is in the closed union', async (t) => {
  for (const [err] of codes) t.ok(RESULT_CLASSES.includes(classifyError(err)));
});
