//! `help`: a plugin without stats (`null` in `/all`). The `/api/3/help`
//! route is served from [`help_body`]: Glances' keys, glint's own words.

use serde_json::{Map, Value};

use super::Plugin;

pub struct Help;

impl Plugin for Help {
    fn name(&self) -> &'static str {
        "help"
    }

    fn collect(&mut self) -> Value {
        Value::Null
    }
}

/// (key, key binding, label); an empty binding marks a section header.
const ENTRIES: &[(&str, &str, &str)] = &[
    ("header_sort", "", "SORT PROCESSES:"),
    ("sort_auto", "a", "Automatic sort"),
    ("sort_cpu", "c", "By CPU%"),
    ("sort_io_rate", "i", "By I/O rate"),
    ("sort_mem", "m", "By MEM%"),
    ("sort_process_name", "p", "By process name"),
    ("sort_cpu_times", "t", "By CPU time"),
    ("sort_user", "u", "By user"),
    ("header_show_hide", "", "SHOW/HIDE SECTION:"),
    ("show_hide_application_monitoring", "A", "Application monitoring"),
    ("show_hide_diskio", "d", "Disk I/O"),
    ("show_hide_docker", "D", "Containers"),
    ("show_hide_top_extended_stats", "e", "Extended process stats"),
    ("show_hide_filesystem", "f", "File systems"),
    ("show_hide_gpu", "G", "GPU"),
    ("show_hide_ip", "I", "IP addresses"),
    ("show_hide_tcp_connection", "K", "TCP connections"),
    ("show_hide_alert", "l", "Alert log"),
    ("show_hide_network", "n", "Network"),
    ("show_hide_current_time", "N", "Clock"),
    ("show_hide_irq", "Q", "Interrupts"),
    ("show_hide_raid_plugin", "R", "RAID arrays"),
    ("show_hide_sensors", "s", "Sensors"),
    ("show_hide_wifi_module", "W", "Wi-Fi"),
    ("show_hide_processes", "z", "Process list"),
    ("show_hide_left_sidebar", "2", "Left sidebar"),
    ("show_hide_quick_look", "3", "Quick look"),
    ("show_hide_cpu_mem_swap", "4", "CPU, memory and swap"),
    ("show_hide_all", "5", "Everything"),
    ("header_toggle", "", "TOGGLE DATA TYPE:"),
    ("toggle_bits_bytes", "b", "Network rates in bits or bytes"),
    ("toggle_count_rate", "B", "Disk I/O as counts or rates"),
    ("toggle_used_free", "F", "File system used or free space"),
    ("toggle_bar_sparkline", "S", "Quick look bars or sparklines"),
    ("toggle_separate_combined", "T", "Network rx/tx apart or summed"),
    ("toggle_live_cumulative", "U", "Network live or cumulative"),
    ("toggle_linux_percentage", "0", "Load as Linux value or percent"),
    ("toggle_cpu_individual_combined", "1", "CPUs one by one or together"),
    ("toggle_gpu_individual_combined", "6", "GPUs one by one or together"),
    ("toggle_short_full", "/", "Short or full process names"),
    ("header_miscellaneous", "", "MISCELLANEOUS:"),
    ("misc_erase_process_filter", "E", "Clear the process filter"),
    ("misc_generate_history_graphs", "g", "Draw history graphs"),
    ("misc_help", "h", "This help"),
    ("misc_accumulate_processes_by_program", "j", "Threads or programs"),
    ("misc_increase_nice_process", "+", "Raise a process's nice value"),
    (
        "misc_decrease_nice_process",
        "-",
        "Lower a process's nice value (as root)",
    ),
    ("misc_kill_process", "k", "Stop a process"),
    ("misc_reset_processes_summary_min_max", "M", "Reset process min/max"),
    ("misc_quit", "q", "Quit (also Esc, Ctrl-C)"),
    ("misc_reset_history", "r", "Clear history"),
    ("misc_delete_warning_alerts", "w", "Drop finished warning alerts"),
    (
        "misc_delete_warning_and_critical_alerts",
        "x",
        "Drop all finished alerts",
    ),
    ("misc_theme_white", "9", "Colours for a light background"),
    ("misc_edit_process_filter_pattern", "ENTER", "Edit the process filter"),
];

/// The `/api/3/help` object: version lines, then one padded line per key
/// binding in Glances' key order and layout (key padded to 1, label to 34,
/// headers to 39).
pub fn help_body(config_file: Option<&std::path::Path>) -> Value {
    let mut m = Map::new();
    m.insert("version".into(), format!("glint {}", env!("CARGO_PKG_VERSION")).into());
    let psutil = super::psutilversion::PSUTIL_VERSION.map(|n| n.to_string()).join(".");
    m.insert(
        "psutil_version".into(),
        format!(" with psutil {psutil} semantics").into(),
    );
    let file = config_file.map_or("None".to_string(), |p| p.display().to_string());
    m.insert(
        "configuration_file".into(),
        format!("Configuration file: {file}").into(),
    );
    for (key, binding, label) in ENTRIES {
        let line = if binding.is_empty() {
            format!("{label:<39}")
        } else if binding.len() > 1 {
            format!("  {binding}: {label}")
        } else {
            format!("  {binding:<1}  {label:<34}")
        };
        m.insert(key.to_string(), line.into());
    }
    Value::Object(m)
}
