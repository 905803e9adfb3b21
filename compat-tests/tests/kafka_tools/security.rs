//! `kafka-acls` and `kafka-configs --entity-type users` (SCRAM credentials)
//! as judges of CreateAcls / DescribeAcls / DeleteAcls and
//! AlterUserScramCredentials / DescribeUserScramCredentials: ACLs added,
//! listed exactly, removed; a SCRAM credential added, described, deleted;
//! and the ACL tools refused by a broker without an authorizer.

use memorystreamer_compat_tests::Broker;

use super::{run, run_fails};

const AUTHORIZER: &str =
    "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer";

/// The blocks of `kafka-acls --list` (one per resource, blank-line
/// separated), sorted: the tool's order follows a hash map.
fn blocks(out: &str) -> Vec<String> {
    let mut b: Vec<String> = out
        .split("\n\n")
        .map(str::trim_end)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    b.sort();
    b
}

fn current(resource: &str, entries: &[&str]) -> String {
    let mut s = format!("Current ACLs for resource `{resource}`:");
    for e in entries {
        s.push_str(&format!("\n\t{e}"));
    }
    s
}

#[test]
fn kafka_acls_add_list_remove() {
    let broker = Broker::start(&["-o", AUTHORIZER, "-o", "super.users=User:ANONYMOUS"]);
    let topic_t = "ResourcePattern(resourceType=TOPIC, name=t, patternType=LITERAL)";
    let prefixed = "ResourcePattern(resourceType=TOPIC, name=pre-, patternType=PREFIXED)";
    let group_g = "ResourcePattern(resourceType=GROUP, name=g, patternType=LITERAL)";
    let read = "(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)";
    let write = "(principal=User:alice, host=*, operation=WRITE, permissionType=ALLOW)";
    for (args, resource, entry) in [
        (&["--topic", "t", "--operation", "Read"][..], topic_t, read),
        (
            &[
                "--topic",
                "pre-",
                "--resource-pattern-type",
                "prefixed",
                "--operation",
                "Write",
            ][..],
            prefixed,
            write,
        ),
        (&["--group", "g", "--operation", "Read"][..], group_g, read),
    ] {
        let mut all = vec!["--add", "--allow-principal", "User:alice"];
        all.extend_from_slice(args);
        let out = run(&broker, "kafka-acls", &all);
        assert_eq!(
            out,
            format!("Adding ACLs for resource `{resource}`: \n \t{entry}\n\n"),
            "{all:?}"
        );
    }
    let mut expected = vec![
        current(topic_t, &[read]),
        current(prefixed, &[write]),
        current(group_g, &[read]),
    ];
    expected.sort();
    assert_eq!(blocks(&run(&broker, "kafka-acls", &["--list"])), expected);
    assert_eq!(
        blocks(&run(&broker, "kafka-acls", &["--list", "--topic", "t"])),
        vec![current(topic_t, &[read])]
    );
    // Adding the same ACL again stores it once.
    run(
        &broker,
        "kafka-acls",
        &[
            "--add",
            "--allow-principal",
            "User:alice",
            "--operation",
            "Read",
            "--topic",
            "t",
        ],
    );
    assert_eq!(
        blocks(&run(&broker, "kafka-acls", &["--list", "--topic", "t"])),
        vec![current(topic_t, &[read])]
    );
    for args in [
        &["--topic", "t"][..],
        &["--topic", "pre-", "--resource-pattern-type", "prefixed"][..],
        &["--group", "g"][..],
    ] {
        let mut all = vec!["--remove", "--force"];
        all.extend_from_slice(args);
        run(&broker, "kafka-acls", &all);
    }
    assert_eq!(run(&broker, "kafka-acls", &["--list"]), "");
}

#[test]
fn kafka_acls_without_an_authorizer_is_refused() {
    let broker = Broker::start(&[]);
    let out = run_fails(&broker, "kafka-acls", &["--list"]);
    assert!(
        out.contains("SecurityDisabledException: No Authorizer is configured on the broker"),
        "{out}"
    );
}

#[test]
fn kafka_configs_scram_credentials_add_describe_delete() {
    let broker = Broker::start(&[]);
    let user = ["--entity-type", "users", "--entity-name", "alice"];
    let alter = |config: &[&str]| {
        let mut args = vec!["--alter"];
        args.extend_from_slice(config);
        args.extend_from_slice(&user);
        run(&broker, "kafka-configs", &args)
    };
    assert_eq!(
        alter(&[
            "--add-config",
            "SCRAM-SHA-256=[iterations=8192,password=alice-secret]"
        ]),
        "Completed updating config for user alice.\n"
    );
    let describe = || {
        let mut args = vec!["--describe"];
        args.extend_from_slice(&user);
        run(&broker, "kafka-configs", &args)
    };
    assert_eq!(
        describe(),
        "SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-256=iterations=8192\n"
    );
    assert_eq!(
        alter(&["--add-config", "SCRAM-SHA-512=[password=alice-secret]"]),
        "Completed updating config for user alice.\n"
    );
    assert_eq!(
        describe(),
        "SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-256=iterations=8192, \
         SCRAM-SHA-512=iterations=4096\n"
    );
    assert_eq!(
        alter(&["--delete-config", "SCRAM-SHA-256"]),
        "Completed updating config for user alice.\n"
    );
    assert_eq!(
        describe(),
        "SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-512=iterations=4096\n"
    );
    assert_eq!(
        alter(&["--delete-config", "SCRAM-SHA-512"]),
        "Completed updating config for user alice.\n"
    );
    assert_eq!(describe(), "");
}
