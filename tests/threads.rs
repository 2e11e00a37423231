//! The report does not depend on `--threads`: byte-for-byte identical JSON on a generated
//! corpus large enough for the parallel path.

use assert_cmd::Command;

use eks_authlog::corpus::{self, Spec};
use eks_authlog::pipeline::PARALLEL_MIN;

#[test]
fn json_output_is_identical_whatever_the_number_of_threads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corpus.log");
    let spec = Spec {
        lines: None,
        bytes: Some(PARALLEL_MIN + (1 << 20)),
        seed: 7,
        ..Spec::default()
    };
    corpus::write(&spec, std::fs::File::create(&path).unwrap()).unwrap();
    let run = |threads: &str| {
        let out = Command::cargo_bin("eks-authlog")
            .unwrap()
            .args(["report", "-o", "json", "-q", "--threads", threads])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let one = run("1");
    assert!(one.len() > 1000);
    for threads in ["2", "4", "0"] {
        assert!(
            run(threads) == one,
            "--threads {threads} differs from --threads 1"
        );
    }
}
