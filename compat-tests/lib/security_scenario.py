# The security phase shared by the Python runners (`run.sh security <spec.json>`, see ../README.md
# and ../security.ts): SSL, SASL PLAIN and SCRAM-SHA-256/512 over SASL_PLAINTEXT and SASL_SSL,
# and a wrong password. Each runner supplies an adapter:
#   adapter.roundtrip(bootstrap, topic, sec, records) -> [(key bytes, value bytes)] read back
#       (produce `records` with acks=all, then read the topic from the beginning)
#   adapter.auth_failure(bootstrap, topic, sec, good) -> text of the authentication error (sec has
#       the wrong password; good, the right one, checks that nothing was stored); raises
#       harness.Known for a documented client limitation, anything else for a failure
# `sec` is {'security_protocol', 'ca', 'mechanism', 'username', 'password'} (mechanism None for SSL).
import json

from harness import out, run_isolated

SCENARIO_LIMIT_S = 40

# (scenario, listener / security protocol, SASL mechanism)
SCENARIOS = [
    ('ssl-produce-consume', 'SSL', None),
    ('sasl-plain', 'SASL_PLAINTEXT', 'PLAIN'),
    ('sasl-scram-sha-256', 'SASL_PLAINTEXT', 'SCRAM-SHA-256'),
    ('sasl-scram-sha-512', 'SASL_PLAINTEXT', 'SCRAM-SHA-512'),
    ('sasl-ssl-scram-sha-256', 'SASL_SSL', 'SCRAM-SHA-256'),
    ('sasl-ssl-scram-sha-512', 'SASL_SSL', 'SCRAM-SHA-512'),
]


def _label(protocol, mechanism):
    if mechanism is None:
        return '%s listener, TLS' % protocol
    return '%s listener, %s%s' % (protocol, 'TLS + ' if protocol == 'SASL_SSL' else '', mechanism)


def run(spec_file, adapter):
    with open(spec_file) as f:
        spec = json.load(f)

    def sec(protocol, mechanism, password=None):
        user = spec['plain'] if mechanism == 'PLAIN' else spec['scram']
        return {'security_protocol': protocol, 'ca': spec['ca'], 'mechanism': mechanism,
                'username': user['username'] if mechanism else None,
                'password': (password or user['password']) if mechanism else None}

    def positive(name, protocol, mechanism):
        def fn(_):
            topic = spec['topics'][name]
            records = [(('k%d' % i).encode(), ('%s-%d' % (name, i)).encode()) for i in range(3)]
            got = adapter.roundtrip(spec['listeners'][protocol], topic, sec(protocol, mechanism), records)
            if sorted(got) != sorted(records):
                raise AssertionError('read back %s, produced %s' % (got, records))
            return '%s: 3 messages produced (acks=all) and read back' % _label(protocol, mechanism)
        return fn

    def wrong_password(_):
        s = sec('SASL_SSL', 'SCRAM-SHA-256', spec['wrongPassword'])
        text = adapter.auth_failure(spec['listeners']['SASL_SSL'], spec['topics']['sasl-wrong-password'], s,
                                    sec('SASL_SSL', 'SCRAM-SHA-256'))
        return '%s, wrong password: %s' % (_label('SASL_SSL', 'SCRAM-SHA-256'), text)

    rows = [(name, positive(name, protocol, mech)) for name, protocol, mech in SCENARIOS]
    rows.append(('sasl-wrong-password', wrong_password))
    for name, fn in rows:
        (status, detail), dt = run_isolated(fn, None, SCENARIO_LIMIT_S)
        out({'scenario': name, 'status': status, 'detail': '%s (%.1f s)' % (detail, dt)})
