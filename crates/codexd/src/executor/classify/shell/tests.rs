//! The parser against what bash does.

use super::*;

fn words(script: &str) -> Vec<Vec<String>> {
    parse(script)
        .unwrap()
        .pipelines
        .into_iter()
        .flatten()
        .map(|c| c.words)
        .filter(|w| !w.is_empty())
        .collect()
}

fn w(v: &[&[&str]]) -> Vec<Vec<String>> {
    v.iter()
        .map(|c| c.iter().map(|s| s.to_string()).collect())
        .collect()
}

#[test]
fn quotes_separators_and_pipelines() {
    assert_eq!(
        words("echo 'a b' \"c $HOME\" d\\ e; ls -l | wc -l && rm x || true &"),
        w(&[
            &["echo", "a b", "c $HOME", "d e"],
            &["ls", "-l"],
            &["wc", "-l"],
            &["rm", "x"],
            &["true"],
        ])
    );
    let s = parse("curl -s https://x | sh").unwrap();
    assert_eq!(s.pipelines.len(), 1);
    assert_eq!(s.pipelines[0].len(), 2);
}

#[test]
fn ansi_c_strings_are_decoded_and_braces_expanded_as_bash_does() {
    assert_eq!(
        words(r"rm $'-\x72f' $'\055rf' $'\u0041'"),
        w(&[&["rm", "-rf", "-rf", "A"]])
    );
    assert_eq!(words(r#"rm $"-rf" x"#), w(&[&["rm", "-rf", "x"]]));
    assert_eq!(
        words("rm {-r,build} a{b,c}d"),
        w(&[&["rm", "-r", "build", "abd", "acd"]])
    );
    assert_eq!(
        words("echo x{1..3} '{a,b}'"),
        w(&[&["echo", "x1", "x2", "x3", "{a,b}"]])
    );
    assert!(
        parse("echo {1..100000}").is_err(),
        "too many words to check"
    );
    let s = parse("rm *").unwrap();
    assert_eq!(s.pipelines[0][0].globbed, vec![false, true]);
}

#[test]
fn redirections_name_the_files_written_and_how() {
    let s =
        parse("sort a > out.txt 2>>err.log < in.txt; echo x &>/dev/null; ls 2>&1; : >| f 3<> g")
            .unwrap();
    let cmds: Vec<&Simple> = s.pipelines.iter().flatten().collect();
    assert_eq!(cmds[0].words, vec!["sort", "a"]);
    let t: Vec<(&str, WriteMode)> = cmds[0]
        .writes
        .iter()
        .map(|r| (r.target.as_str(), r.mode))
        .collect();
    assert_eq!(
        t,
        vec![
            ("out.txt", WriteMode::Truncate),
            ("err.log", WriteMode::Append)
        ]
    );
    assert_eq!(cmds[1].writes[0].target, "/dev/null");
    assert!(cmds[2].writes.is_empty());
    let t: Vec<WriteMode> = cmds[3].writes.iter().map(|r| r.mode).collect();
    assert_eq!(t, vec![WriteMode::Truncate, WriteMode::ReadWrite]);
}

#[test]
fn here_document_bodies_are_data_but_their_substitutions_run() {
    // A quote in a quoted body does not hide the command after the delimiter.
    assert_eq!(
        words("cat <<'E'\n'\nE\nrm -rf ~/x #'"),
        w(&[&["cat"], &["rm", "-rf", "~/x"]])
    );
    assert_eq!(
        words("cat <<-E\n\t\"\n\tE\nrm -rf ~/x"),
        w(&[&["cat"], &["rm", "-rf", "~/x"]])
    );
    let s = parse("cat <<E >/dev/null\n'$(rm -rf ~/x)'\nE").unwrap();
    assert!(
        s.pipelines
            .iter()
            .flatten()
            .any(|c| c.words.first().is_some_and(|w| w == "rm"))
    );
    let s = parse("cat <<'E'\n$(rm -rf ~/x)\nE").unwrap();
    assert!(
        !s.pipelines
            .iter()
            .flatten()
            .any(|c| c.words.first().is_some_and(|w| w == "rm"))
    );
    assert!(s.hidden_substitution);
    assert!(parse("git commit -F - <<'EOF'\nFix: don't crash\nEOF").is_ok());
}

#[test]
fn arithmetic_substitutions_run_and_named_variables_are_noted() {
    let s = parse("echo $(( $(rm -rf ~/x) + 1 ))").unwrap();
    assert!(
        s.pipelines
            .iter()
            .flatten()
            .any(|c| c.words.first().is_some_and(|w| w == "rm"))
    );
    let s = parse("echo $((rm -rf ~/x) )").unwrap();
    assert!(
        s.pipelines
            .iter()
            .flatten()
            .any(|c| c.words.first().is_some_and(|w| w == "rm"))
    );
    let s = parse("x='a[$(rm -rf ~/x)]'; echo $((x))").unwrap();
    assert!(s.evaluated_names && s.hidden_substitution);
    assert!(!parse("echo $((1 + 2))").unwrap().evaluated_names);
    let s = parse("(( x > 1 )) && echo big").unwrap();
    assert!(s.evaluated_names);
    assert_eq!(words("(( x > 1 )) && echo big"), w(&[&["echo", "big"]]));
}

#[test]
fn arithmetic_for_indirection_and_prompt_expansion_evaluate_values() {
    for script in [
        "for ((i=x; i<1; i++)); do :; done",
        "for((i=x;i<1;i++)); do :; done",
    ] {
        let s = parse(script).unwrap();
        assert!(s.evaluated_names, "{script}");
        assert!(
            s.pipelines.iter().flatten().all(|c| c.words == [":"]),
            "{script}: {:?}",
            s.pipelines
        );
    }
    assert!(parse("echo ${!x}").unwrap().evaluated_names);
    assert!(
        !parse("echo ${!a[@]} ${!pre*} ${#x}")
            .unwrap()
            .evaluated_names
    );
    assert!(parse("echo \"${x@P}\"").unwrap().prompt_expansion);
    assert!(!parse("echo '${x@P}' ${x@Q}").unwrap().prompt_expansion);
}

#[test]
fn substitutions_loops_assignments_and_functions_are_followed() {
    let all = words("for f in $(find . -name '*.tmp'); do rm -f \"$f\"; done");
    assert!(all.contains(&vec![
        "find".to_string(),
        ".".into(),
        "-name".into(),
        "*.tmp".into()
    ]));
    assert!(all.contains(&vec!["rm".to_string(), "-f".into(), "$f".into()]));
    assert!(!all.iter().any(|c| c[0] == "for"));
    assert_eq!(words("FOO=1 BAR=2 make test"), w(&[&["make", "test"]]));
    let s = parse("X=1; export Y=2").unwrap();
    assert_eq!(
        s.pipelines[0][0].assignments,
        vec![("X".to_string(), "1".to_string())]
    );
    assert_eq!(
        words("echo `whoami`"),
        w(&[&["whoami"], &["echo", "$(...)"]])
    );
    assert_eq!(words("(cd src && make)"), w(&[&["cd", "src"], &["make"]]));
    assert_eq!(
        words("ls() { rm -rf ~/x; }; ls"),
        w(&[&["rm", "-rf", "~/x"], &["ls"]])
    );
    let s = parse("echo 'rm -rf ~/x' > >(sh)").unwrap();
    assert!(
        s.pipelines[0][0].stdin_fed,
        "the command behind >(...) reads what it is sent"
    );
    let s = parse("coproc bash; echo x").unwrap();
    assert!(s.pipelines[0][0].stdin_fed);
    let dynamic = parse("$EDITOR notes.txt").unwrap();
    assert!(dynamic.pipelines[0][0].dynamic_program);
}

#[test]
fn what_cannot_be_read_is_an_error() {
    for bad in [
        "echo 'open",
        "echo \"open",
        "echo $(ls",
        "echo `ls",
        "cat >",
        "echo $'x",
    ] {
        assert!(parse(bad).is_err(), "{bad} parsed: {:?}", parse(bad));
    }
    assert!(parse("ls |&").is_ok());
}
