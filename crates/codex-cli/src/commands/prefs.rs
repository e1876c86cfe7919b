//! `codex prefs show`.

use codex_proto::methods::{NoParams, PrefsShow};
use comfy_table::Cell;

use super::Out;
use crate::error::CliError;
use crate::render;
use crate::session::Target;

/// Show what has been learned, with the evidence behind each figure.
pub fn show(target: &Target, out: Out) -> Result<u8, CliError> {
    let (mut client, _) = target.connect()?;
    let p = client.call::<PrefsShow>(&NoParams {})?;
    if out.json {
        render::json(&p)?;
        return Ok(0);
    }
    if !p.learning {
        println!("learning is off (user_preference_learning: false): this profile is frozen\n");
    }
    if p.programs.is_empty() {
        println!(
            "nothing learned yet: run commands with `codex run -- CMD` and rate them with `codex rate 1..5`"
        );
        return Ok(0);
    }
    let mut t = render::table(
        &["PROGRAM", "RUNS", "SUCCESS", "RATINGS", "MEAN RATING"],
        &[1, 2, 3, 4],
    );
    for prog in &p.programs {
        t.add_row(vec![
            Cell::new(&prog.program),
            Cell::new(prog.runs),
            Cell::new(if prog.runs == 0 {
                "-".into()
            } else {
                format!("{:.0}%", prog.success_rate * 100.0)
            }),
            Cell::new(prog.ratings),
            Cell::new(prog.mean_rating.map_or("-".into(), |m| format!("{m:.1}"))),
        ]);
    }
    render::print_table(&t);
    let s = &p.satisfaction;
    match (s.recent, s.mean) {
        (Some(recent), Some(mean)) => println!(
            "\nsatisfaction: {recent:.1}/5 recently, {mean:.1}/5 on average over {} rating{}",
            s.ratings,
            if s.ratings == 1 { "" } else { "s" }
        ),
        _ => println!("\nsatisfaction: no ratings yet (rate a run with `codex rate 1..5`)"),
    }
    Ok(0)
}
