//! Reading requests: every accepted spelling, and errors that name the field's path.

use super::request::*;
use super::value::*;
use serde_json::json;

fn read(v: serde_json::Value) -> Result<Request, String> {
    Request::from_value(v)
}

#[test]
fn errors_name_the_field_path() {
    for (req, want) in [
        (
            json!({"op": "list", "filter": {"src": "10.0.0.300"}}),
            "filter.src: not an address or network",
        ),
        (
            json!({"op": "list", "filter": {"bogus": 1}}),
            "filter.bogus: unknown field `bogus`",
        ),
        (
            json!({"op": "list", "bogus": 1}),
            "bogus: unknown field `bogus`",
        ),
        (
            json!({"op": "get", "tuple": {"proto": "tcp", "src": "10.0.0.1", "dst": "10.0.0.2", "sport": 70000}}),
            "tuple.sport: invalid value: integer `70000`",
        ),
        (json!({"op": "get"}), "tuple: missing"),
        (
            json!({"op": "update", "label_add": [1, 200]}),
            "label_add: label bit 200 is out of range",
        ),
        (
            json!({"op": "list", "filter": {"proto": "tcpx"}}),
            "filter.proto: unknown protocol \"tcpx\"",
        ),
        (
            json!({"op": "list", "filter": {"mark": "1/x"}}),
            "filter.mark: not a mark",
        ),
        (json!({"op": "nope"}), "op: unknown operation \"nope\""),
        (json!({"format": "text"}), "op: missing"),
        (json!([1]), "request: expected a JSON object"),
        (
            json!({"op": "flush", "tuple": {}}),
            "tuple: unknown field `tuple`",
        ),
    ] {
        let e = read(req.clone()).unwrap_err();
        assert!(e.starts_with(want), "{req}: {e}");
    }
}

#[test]
fn accepted_spellings() {
    let r = read(json!({"op": "list", "filter": {"proto": "ICMPv6", "src": "10.0.0.0/8", "state": "ESTABLISHED, SYN_SENT", "mark": "0x10/0xff", "status": ["ASSURED"]}})).unwrap();
    let Request::List(l) = r else { panic!() };
    let f = l.filter.unwrap();
    assert_eq!(f.proto, Some(Proto(58)));
    assert_eq!(f.src.unwrap().0.to_string(), "10.0.0.0/8");
    assert_eq!(f.state.unwrap().0, vec!["ESTABLISHED", "SYN_SENT"]);
    assert_eq!(
        f.mark,
        Some(Mark {
            value: 0x10,
            mask: 0xff
        })
    );
    assert!(l.total);
    let Request::Update(u) = read(
        json!({"op": "update", "filter": {}, "labels": "0x1f", "label_del": true, "label_add": 3}),
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(u.labels, Some(Labels(0x1f)));
    assert_eq!(u.label_del, Some(LabelBits(u128::MAX)));
    assert_eq!(u.label_add, Some(LabelBits(8)));
}

#[test]
fn requests_read_back_what_they_write() {
    let reqs = [
        Request::list_at(5),
        Request::Get(Get {
            now_ns: 1,
            tuple: TupleSpec::new(6, "10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()),
            format: Format::Json,
            show_labels: true,
        }),
        Request::ExpectDelete(ExpectDelete { id: 7 }),
        Request::Helpers(Nothing {}),
        Request::Update(Update {
            filter: Some(Filter {
                mark: Some(Mark { value: 1, mask: 3 }),
                ..Filter::default()
            }),
            label_add: Some(LabelBits(6)),
            ..Update::default()
        }),
    ];
    for r in reqs {
        assert_eq!(
            Request::from_slice(&r.to_vec()).unwrap(),
            r,
            "{}",
            r.to_value()
        );
    }
}
