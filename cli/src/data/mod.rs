//! `swarmctl secret …` and `swarmctl config …`: create, ls, inspect, rm, as docker's. One
//! implementation for both kinds; they differ only in that a config's data is shown.

use std::io::Read;

use anyhow::{anyhow, Result};
use api::control as pc;
use clap::{Args, Subcommand};
use types::convert::secret::kind_out;
use types::{DataKind, DataObject, DataSpec};

use crate::client::{Control, StatusExt};
use crate::output::{self, print_rows, Format, ListFlags};
use crate::parse;

mod report;

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Create one from a file, or from standard input with `-`
    Create(CreateArgs),
    /// List them
    #[command(alias = "list")]
    Ls(ListFlags),
    /// Display detailed information on one or more (never a secret's data)
    Inspect {
        /// Print the information in a human friendly format
        #[arg(long)]
        pretty: bool,
        #[arg(required = true, value_name = "NAME")]
        names: Vec<String>,
    },
    /// Remove one or more
    #[command(alias = "remove")]
    Rm {
        #[arg(required = true, value_name = "NAME")]
        names: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Labels (KEY=VALUE)
    #[arg(long, short = 'l', value_parser = parse::key_value)]
    pub label: Vec<(String, String)>,
    /// Its name: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 64 characters
    pub name: String,
    /// The file holding the data (at most 500 KiB), or `-` to read standard input
    #[arg(value_name = "FILE|-")]
    pub file: String,
    /// The request, built by [`DataCommand::preflight`] once the file is read.
    #[arg(skip)]
    pub request: Option<pc::CreateDataRequest>,
}

/// Which argument sets a field of the spec, so a validation error names what the user typed.
const ARG_OF_FIELD: &[(&str, &str)] = &[
    ("spec.name", "NAME"),
    ("spec.labels", "--label"),
    ("spec.data", "FILE"),
];

/// The request `create` sends for `data` read from `args.file`, checked as the manager will
/// check it, so a bad name or an empty or oversized file is refused before anything is sent.
pub fn create_request(
    kind: DataKind,
    args: &CreateArgs,
    data: Vec<u8>,
) -> Result<pc::CreateDataRequest> {
    let spec = DataSpec {
        name: args.name.clone(),
        labels: args.label.iter().cloned().collect(),
        data,
    };
    types::validate::validate_data_spec(kind, &spec).map_err(|e| {
        match ARG_OF_FIELD.iter().find(|(field, _)| e.field == *field) {
            Some((_, "FILE")) => anyhow!("invalid FILE: {}: {}", shown(&args.file), e.message),
            Some((_, arg)) => anyhow!("invalid {arg}: {}", e.message),
            None => anyhow!("{e}"),
        }
    })?;
    Ok(pc::CreateDataRequest {
        kind: kind_out(kind),
        spec: Some(spec.into()),
    })
}

fn shown(file: &str) -> &str {
    match file {
        "-" => "standard input",
        path => path,
    }
}

/// The data of `FILE`, or of standard input for `-`.
pub fn read_data(file: &str) -> Result<Vec<u8>> {
    let mut data = Vec::new();
    let read = match file {
        "-" => std::io::stdin().read_to_end(&mut data).map(|_| ()),
        path => std::fs::read(path).map(|d| data = d),
    };
    read.map_err(|e| anyhow!("invalid FILE: cannot read {}: {e}", shown(file)))?;
    Ok(data)
}

impl DataCommand {
    /// Reads and checks what `create` would send before connecting, so a bad argument is
    /// reported as such and nothing is sent.
    pub fn preflight(&mut self, kind: DataKind) -> Result<()> {
        if let DataCommand::Create(args) = self {
            let data = read_data(&args.file)?;
            args.request = Some(create_request(kind, args, data)?);
        }
        Ok(())
    }
}

pub async fn run(client: &mut Control, kind: DataKind, command: DataCommand) -> Result<()> {
    let what = kind.as_str();
    match command {
        DataCommand::Create(args) => {
            let request = match args.request.clone() {
                Some(r) => r,
                None => create_request(kind, &args, read_data(&args.file)?)?,
            };
            let created = client.create_data(request).await.or_status()?;
            println!("{}", created.id);
            Ok(())
        }
        DataCommand::Ls(ListFlags { quiet, format }) => {
            let format = Format::parse(format.as_deref())?;
            let reply = client
                .list_data(pc::ListDataRequest {
                    kind: kind_out(kind),
                })
                .await
                .or_status()?;
            let mut objects = reply
                .objects
                .into_iter()
                .map(readable)
                .collect::<Result<Vec<_>>>()?;
            objects.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
            if quiet {
                objects.iter().for_each(|o| println!("{}", o.id));
                return Ok(());
            }
            let now = types::now_ms();
            let rows: Vec<Vec<String>> = objects.iter().map(|o| report::ls_row(o, now)).collect();
            print_rows(format, &report::LS_HEADERS, &report::LS_KEYS, &rows);
            Ok(())
        }
        DataCommand::Inspect { pretty, names } => {
            // As docker: every one found is shown, then the ones not found fail the command.
            let mut reports = Vec::new();
            let mut failed = 0;
            for q in names {
                let got = client
                    .get_data(pc::GetDataRequest {
                        kind: kind_out(kind),
                        id: q,
                    })
                    .await
                    .or_status()
                    .and_then(readable);
                match got {
                    Ok(o) => reports.push(report::report(o)),
                    Err(e) => {
                        eprintln!("Error: {e:#}");
                        failed += 1;
                    }
                }
            }
            if pretty {
                let text: Vec<String> = reports.iter().map(report::pretty).collect();
                print!("{}", text.join("\n"));
            } else {
                output::print_inspect(&reports)?;
            }
            match failed {
                0 => Ok(()),
                n => Err(anyhow!("{n} {what}(s) not found")),
            }
        }
        DataCommand::Rm { names } => {
            output::remove_each(&names, what, |id| {
                let mut client = client.clone();
                async move {
                    client
                        .remove_data(pc::RemoveDataRequest {
                            kind: kind_out(kind),
                            id,
                        })
                        .await
                        .or_status()
                        .map(drop)
                }
            })
            .await
        }
    }
}

fn readable(o: api::objects::DataObject) -> Result<DataObject> {
    DataObject::try_from(o)
        .map_err(|e| anyhow!("the manager sent an object this swarmctl cannot read: {e}"))
}

#[cfg(test)]
mod tests;
