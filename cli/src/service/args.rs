//! The flags of `service create`, `update`, `scale` and `rollback`.

use clap::{Args, ValueEnum};
use types::PortConfig;

use super::{SpecFlags, WaitFlags};
use crate::parse;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    Replicated,
    Global,
}

#[derive(Debug, Args)]
pub struct WaitArgs1 {
    pub service: String,
    #[command(flatten)]
    pub wait: WaitFlags,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Service name
    #[arg(long)]
    pub name: Option<String>,
    /// Service mode
    #[arg(long, value_enum, default_value = "replicated")]
    pub mode: ModeArg,
    /// Publish a port: PUBLISHED:TARGET[/udp] or mode=host,published=P,target=T,protocol=udp
    #[arg(long, short = 'p', value_parser = parse::publish)]
    pub publish: Vec<PortConfig>,
    /// Placement constraint, e.g. node.role==manager
    #[arg(long)]
    pub constraint: Vec<String>,
    /// Placement preference, e.g. spread=node.labels.zone
    #[arg(long)]
    pub placement_pref: Vec<String>,
    /// Attach to a network: NAME or name=NAME,alias=ALIAS (repeat for more, in order)
    #[arg(long, value_parser = parse::network_target)]
    pub network: Vec<types::NetworkTarget>,
    /// Attach a filesystem mount: type=volume|bind|tmpfs,source=…,target=…[,readonly]
    #[arg(long, value_parser = crate::parse_mount::mount)]
    pub mount: Vec<types::Mount>,
    /// Give the containers a secret: NAME or source=NAME,target=FILE,uid=0,gid=0,mode=0400
    #[arg(long, value_parser = crate::parse_data::secret)]
    pub secret: Vec<types::DataReference>,
    /// Give the containers a config: NAME or source=NAME,target=/path,uid=0,gid=0,mode=0444
    #[arg(long, value_parser = crate::parse_data::config)]
    pub config: Vec<types::DataReference>,
    /// Set environment variables (KEY=VALUE)
    #[arg(long, short = 'e')]
    pub env: Vec<String>,
    /// Service labels (KEY=VALUE)
    #[arg(long, short = 'l', value_parser = parse::key_value)]
    pub label: Vec<(String, String)>,
    /// Container labels (KEY=VALUE)
    #[arg(long, value_parser = parse::key_value)]
    pub container_label: Vec<(String, String)>,
    #[command(flatten)]
    pub spec: SpecFlags,
    #[command(flatten)]
    pub wait: WaitFlags,
    /// Image to run
    pub image: String,
    /// Command and arguments for the container
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Service image tag
    #[arg(long)]
    pub image: Option<String>,
    /// Force update even if no changes require it
    #[arg(long)]
    pub force: bool,
    /// Service command args (space separated)
    #[arg(long)]
    pub args: Option<String>,
    /// Add or update a published port
    #[arg(long, value_parser = parse::publish)]
    pub publish_add: Vec<PortConfig>,
    /// Remove a published port by its published port (8080 or 8080/udp)
    #[arg(long, value_parser = parse::published_port_key)]
    pub publish_rm: Vec<(u32, types::PortProtocol)>,
    #[arg(long)]
    pub constraint_add: Vec<String>,
    #[arg(long)]
    pub constraint_rm: Vec<String>,
    #[arg(long)]
    pub placement_pref_add: Vec<String>,
    #[arg(long)]
    pub placement_pref_rm: Vec<String>,
    /// Attach to a network: NAME or name=NAME,alias=ALIAS
    #[arg(long, value_parser = parse::network_target)]
    pub network_add: Vec<types::NetworkTarget>,
    /// Detach from a network (name or ID)
    #[arg(long)]
    pub network_rm: Vec<String>,
    /// Add or replace a mount (same syntax as --mount; replaces the one on the same target)
    #[arg(long, value_parser = crate::parse_mount::mount)]
    pub mount_add: Vec<types::Mount>,
    /// Remove a mount by its target path
    #[arg(long, value_name = "TARGET")]
    pub mount_rm: Vec<String>,
    /// Add a secret (same syntax as --secret)
    #[arg(long, value_parser = crate::parse_data::secret)]
    pub secret_add: Vec<types::DataReference>,
    /// Remove a secret by its name
    #[arg(long, value_name = "NAME")]
    pub secret_rm: Vec<String>,
    /// Add a config (same syntax as --config)
    #[arg(long, value_parser = crate::parse_data::config)]
    pub config_add: Vec<types::DataReference>,
    /// Remove a config by its name
    #[arg(long, value_name = "NAME")]
    pub config_rm: Vec<String>,
    /// Add or update environment variables (KEY=VALUE)
    #[arg(long)]
    pub env_add: Vec<String>,
    /// Remove environment variables by name
    #[arg(long)]
    pub env_rm: Vec<String>,
    #[arg(long, value_parser = parse::key_value)]
    pub label_add: Vec<(String, String)>,
    #[arg(long)]
    pub label_rm: Vec<String>,
    #[arg(long, value_parser = parse::key_value)]
    pub container_label_add: Vec<(String, String)>,
    #[arg(long)]
    pub container_label_rm: Vec<String>,
    #[command(flatten)]
    pub spec: SpecFlags,
    #[command(flatten)]
    pub wait: WaitFlags,
    pub service: String,
}

#[derive(Debug, Args)]
pub struct ScaleArgs {
    /// SERVICE=REPLICAS pairs
    #[arg(required = true, value_parser = parse::scale)]
    pub pairs: Vec<(String, u64)>,
    #[command(flatten)]
    pub wait: WaitFlags,
}
