//! `smart`: SMART attributes of each disk (spec §8.28), shaped like
//! Glances' pySMART/smartctl output but read without smartctl: ATA/SATA
//! disks through libatasmart ([`super::atasmart`]), NVMe drives through the
//! SMART/Health log page (admin command ioctl).
//!
//! Needs root (SG_IO and NVMe admin commands); see [`available`]. A sleeping
//! ATA disk is never woken: it is listed without attributes.

use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

use serde_json::{Map, Value};

use super::atasmart::{Attribute, Disk, ffi};
use super::{Env, Plugin};

pub struct Smart {
    env: Env,
}

impl Smart {
    pub fn new(env: &Env) -> Smart {
        Smart { env: env.clone() }
    }
}

/// Whether the plugin can work: only root may send ATA/NVMe commands.
/// Glances disables `smart` for other users (spec §7.3 step 6).
pub fn available() -> bool {
    nix::unistd::geteuid().is_root()
}

impl Plugin for Smart {
    fn name(&self) -> &'static str {
        "smart"
    }

    fn collect(&mut self) -> Value {
        let disks = smart_devices(&self.env)
            .into_iter()
            .filter_map(|(name, kind)| match kind {
                DeviceKind::Ata => read_ata(&self.env, &name),
                DeviceKind::Nvme => read_nvme(&self.env, &name),
            })
            .collect();
        Value::Array(disks)
    }

    fn key(&self) -> Option<&'static str> {
        Some("DeviceName")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DeviceKind {
    Ata,
    Nvme,
}

/// Which `/sys/block` entries can have SMART data: ATA/SCSI disks (`sd*`,
/// `hd*`) and NVMe namespaces (`nvme<N>n<M>`). loop, ram, dm, md, zram and
/// virtio (`vd*`, no SMART) are skipped.
pub fn device_kind(block_name: &str) -> Option<DeviceKind> {
    let letters_after = |prefix: &str| {
        block_name
            .strip_prefix(prefix)
            .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_lowercase()))
    };
    if letters_after("sd") || letters_after("hd") {
        return Some(DeviceKind::Ata);
    }
    nvme_controller(block_name).map(|_| DeviceKind::Nvme)
}

/// `nvme0n1` → `nvme0` (the controller that answers admin commands).
fn nvme_controller(block_name: &str) -> Option<&str> {
    let rest = block_name.strip_prefix("nvme")?;
    let (controller, namespace) = rest.split_once('n')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(controller) && digits(namespace)).then(|| &block_name[..4 + controller.len()])
}

/// SMART-capable devices under the root, sorted by name; NVMe namespaces
/// are reported once per controller, by controller name (as smartctl
/// `--scan` lists them).
fn smart_devices(env: &Env) -> Vec<(String, DeviceKind)> {
    let Ok(dir) = std::fs::read_dir(env.path("sys/block")) else {
        return Vec::new();
    };
    let mut devices: Vec<(String, DeviceKind)> = dir
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            match device_kind(&name)? {
                DeviceKind::Ata => Some((name, DeviceKind::Ata)),
                DeviceKind::Nvme => Some((nvme_controller(&name)?.to_string(), DeviceKind::Nvme)),
            }
        })
        .collect();
    devices.sort();
    devices.dedup();
    devices
}

// ---------------------------------------------------------------- ATA ----

/// One ATA disk: `{"DeviceName": "<dev> <model>"}` plus its attributes when
/// the disk is awake and SMART data could be read. `None` when the device
/// cannot be opened as an ATA disk at all (no passthrough, no permission).
fn read_ata(env: &Env, name: &str) -> Option<Value> {
    let disk = match Disk::open(&env.path(&format!("dev/{name}"))) {
        Ok(disk) => disk,
        Err(e) => {
            tracing::debug!("smart: {name} is not readable as an ATA disk: {e}");
            return None;
        }
    };
    let model = disk.identify().map(|id| id.model).unwrap_or_default();
    let attributes = match smart_attributes(&disk) {
        Ok(attributes) => attributes,
        Err(e) => {
            tracing::debug!("smart: no SMART data for {name}: {e}");
            Vec::new()
        }
    };
    Some(disk_element(name, &model, &attributes))
}

/// Read and parse the SMART data table, refusing to touch a sleeping disk.
fn smart_attributes(disk: &Disk) -> io::Result<Vec<Attribute>> {
    if !disk.smart_available()? {
        return Err(io::Error::other("SMART not available"));
    }
    // An unknown power state counts as asleep: never risk a spin-up.
    if !disk.awake()? {
        return Err(io::Error::other("disk is in standby"));
    }
    disk.read_smart_data()?;
    disk.parse_smart()?;
    disk.attributes()
}

/// Glances' element: `DeviceName` then one entry per attribute id, in id
/// order (pySMART's table order).
pub fn disk_element(device: &str, model: &str, attributes: &[Attribute]) -> Value {
    let mut sorted: Vec<&Attribute> = attributes.iter().collect();
    sorted.sort_by_key(|a| a.id);
    let mut element = Map::new();
    element.insert("DeviceName".into(), format!("{device} {model}").into());
    for attribute in sorted {
        element.insert(attribute.id.to_string(), attribute_entry(attribute));
    }
    Value::Object(element)
}

/// One attribute with pySMART's field types: `value` is smartctl's
/// zero-padded text, `worst`/`threshold`/`flags` are integers (threshold
/// null when the drive gives none), `raw` is smartctl's raw-value text.
pub fn attribute_entry(a: &Attribute) -> Value {
    let mut entry = Map::new();
    entry.insert("name".into(), smartctl_name(&a.name).into());
    entry.insert("flags".into(), a.flags.into());
    entry.insert("raw".into(), raw_text(a.id, &a.raw).into());
    entry.insert(
        "value".into(),
        a.current
            .map_or_else(|| "---".to_string(), |v| format!("{v:03}"))
            .into(),
    );
    entry.insert("worst".into(), a.worst.map_or(Value::Null, Value::from));
    entry.insert("threshold".into(), a.threshold.map_or(Value::Null, Value::from));
    entry.insert("type".into(), if a.prefailure { "Pre-fail" } else { "Old_age" }.into());
    entry.insert("updated".into(), if a.online { "Always" } else { "Offline" }.into());
    entry.insert("when_failed".into(), when_failed(a).into());
    Value::Object(entry)
}

/// smartctl's WHEN_FAILED column: a zero threshold never fails; the current
/// value at or below it fails now, the worst value at or below it failed in
/// the past.
fn when_failed(a: &Attribute) -> &'static str {
    match a.threshold {
        Some(threshold) if threshold > 0 => {
            if a.current.is_some_and(|v| v <= threshold) {
                "FAILING_NOW"
            } else if a.worst.is_some_and(|v| v <= threshold) {
                "In_the_past"
            } else {
                "-"
            }
        }
        _ => "-",
    }
}

/// libatasmart's attribute name → smartctl's (default drive database) name.
pub fn smartctl_name(libatasmart_name: &str) -> &'static str {
    match libatasmart_name {
        "raw-read-error-rate" => "Raw_Read_Error_Rate",
        "throughput-performance" => "Throughput_Performance",
        "spin-up-time" => "Spin_Up_Time",
        "start-stop-count" => "Start_Stop_Count",
        "reallocated-sector-count" => "Reallocated_Sector_Ct",
        "read-channel-margin" => "Read_Channel_Margin",
        "seek-error-rate" => "Seek_Error_Rate",
        "seek-time-performance" => "Seek_Time_Performance",
        "power-on-hours" => "Power_On_Hours",
        "power-on-minutes" => "Power_On_Minutes",
        "power-on-seconds" => "Power_On_Seconds",
        "power-on-half-minutes" => "Power_On_Half_Minutes",
        "spin-retry-count" => "Spin_Retry_Count",
        "calibration-retry-count" => "Calibration_Retry_Count",
        "power-cycle-count" => "Power_Cycle_Count",
        "read-soft-error-rate" => "Read_Soft_Error_Rate",
        "available-reserved-space" | "endurance-remaining" => "Available_Reservd_Space",
        "program-fail-count" => "Program_Fail_Count",
        "erase-fail-count" => "Erase_Fail_Count",
        "program-fail-count-chip" => "Program_Fail_Count_Chip",
        "erase-fail-count-chip" => "Erase_Fail_Count_Chip",
        "wear-leveling-count" => "Wear_Leveling_Count",
        "used-reserved-blocks-chip" => "Used_Rsvd_Blk_Cnt_Chip",
        "used-reserved-blocks-total" => "Used_Rsvd_Blk_Cnt_Tot",
        "unused-reserved-blocks" => "Unused_Rsvd_Blk_Cnt_Tot",
        "program-fail-count-total" => "Program_Fail_Cnt_Total",
        "erase-fail-count-total" => "Erase_Fail_Count_Total",
        "runtime-bad-block-total" => "Runtime_Bad_Block",
        "end-to-end-error" => "End-to-End_Error",
        "reported-uncorrect" => "Reported_Uncorrect",
        "command-timeout" => "Command_Timeout",
        "high-fly-writes" => "High_Fly_Writes",
        "airflow-temperature-celsius" => "Airflow_Temperature_Cel",
        "g-sense-error-rate" | "g-sense-error-rate-2" => "G-Sense_Error_Rate",
        "power-off-retract-count" => "Power-Off_Retract_Count",
        "power-off-retract-count-2" => "Power-off_Retract_Count",
        "emergency-retract-cycle-count" => "Emerg_Retract_Cycle_Ct",
        "load-cycle-count" | "load-cycle-count-2" => "Load_Cycle_Count",
        "temperature-celsius" | "temperature-celsius-2" | "temperature-centi-celsius" => "Temperature_Celsius",
        "hardware-ecc-recovered" => "Hardware_ECC_Recovered",
        "reallocated-event-count" => "Reallocated_Event_Count",
        "current-pending-sector" => "Current_Pending_Sector",
        "offline-uncorrectable" => "Offline_Uncorrectable",
        "udma-crc-error-count" => "UDMA_CRC_Error_Count",
        "multi-zone-error-rate" => "Multi_Zone_Error_Rate",
        "write-error-count" => "Write_Error_Count",
        "soft-read-error-rate" => "Soft_Read_Error_Rate",
        "ta-increase-count" => "Data_Address_Mark_Errs",
        "detected-ta-count" => "Detected_TA_Count",
        "run-out-cancel" => "Run_Out_Cancel",
        "shock-count-write-open" => "Soft_ECC_Correction",
        "shock-rate-write-open" => "Thermal_Asperity_Rate",
        "flying-height" => "Flying_Height",
        "spin-high-current" => "Spin_High_Current",
        "spin-buzz" => "Spin_Buzz",
        "offline-seek-performance" => "Offline_Seek_Performnce",
        "disk-shift" => "Disk_Shift",
        "loaded-hours" => "Loaded_Hours",
        "load-retry-count" => "Load_Retry_Count",
        "load-friction" => "Load_Friction",
        "load-in-time" => "Load-in_Time",
        "torq-amp-count" => "Torq-amp_Count",
        "head-amplitude" => "Head_Amplitude",
        "power-on-seconds-2" | "media-wearout-indicator" => "Media_Wearout_Indicator",
        "timed-workload-media-wear" => "Workld_Media_Wear_Indic",
        "timed-workload-host-reads" => "Workld_Host_Reads_Perc",
        "workload-timer" => "Workload_Minutes",
        "head-flying-hours" => "Head_Flying_Hours",
        "total-lbas-written" => "Total_LBAs_Written",
        "total-lbas-read" => "Total_LBAs_Read",
        "read-error-retry-rate" => "Read_Error_Retry_Rate",
        _ => "Unknown_Attribute",
    }
}

/// smartctl's RAW_VALUE text with its default print format per attribute
/// id (`get_default_raw_format` of smartmontools' atacmds.cpp).
pub fn raw_text(id: u8, raw: &[u8; 6]) -> String {
    let value = raw.iter().rev().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    let word = |i: usize| u32::from(raw[2 * i]) | (u32::from(raw[2 * i + 1]) << 8);
    match id {
        3 if word(1) != 0 => format!("{} (Average {})", word(0), word(1)),
        3 => word(0).to_string(),
        5 | 196 if word(1) != 0 || word(2) != 0 => format!("{} ({} {})", word(0), word(2), word(1)),
        5 | 196 => word(0).to_string(),
        9 if raw[3] != 0 || raw[4] != 0 || raw[5] != 0 => {
            format!("{} ({} {} {})", value & 0xff_ffff, raw[5], raw[4], raw[3])
        }
        9 => (value & 0xff_ffff).to_string(),
        190 | 194 => temperature_text(raw),
        _ => value.to_string(),
    }
}

/// smartctl's `tempminmax` format: the current temperature, with min/max
/// when the other bytes look like a plausible range.
fn temperature_text(raw: &[u8; 6]) -> String {
    let word = |i: usize| u32::from(raw[2 * i]) | (u32::from(raw[2 * i + 1]) << 8);
    let t = i32::from(raw[0] as i8);
    let check_word = |w: u32| match w {
        0..=0x7f => 0x11,
        0x80..=0xff => 0x01,
        0xff80.. => 0x10,
        _ => 0x00,
    };
    let range = |a: u8, b: u8| {
        let (lo, hi) = {
            let (x, y) = (i32::from(a as i8), i32::from(b as i8));
            (x.min(y), x.max(y))
        };
        ((-60..=t).contains(&lo) && t <= hi && hi <= 120 && !(lo == -1 && hi <= 0)).then_some((lo, hi))
    };
    let ctw0 = check_word(word(0));
    let min_max = |(lo, hi): (i32, i32)| format!("{t} (Min/Max {lo}/{hi})");
    let fallback = || format!("{} ({} {} {} {} {})", raw[0], raw[5], raw[4], raw[3], raw[2], raw[1]);
    if word(2) == 0 {
        if word(1) == 0 && ctw0 != 0 {
            t.to_string()
        } else if let Some(r) = (ctw0 != 0).then(|| range(raw[2], raw[3])).flatten() {
            min_max(r)
        } else if let Some(r) = (raw[3] == 0).then(|| range(raw[1], raw[2])).flatten() {
            min_max(r)
        } else {
            fallback()
        }
    } else if ctw0 != 0 {
        if let Some(r) = (ctw0 & check_word(word(1)) & check_word(word(2)) != 0)
            .then(|| range(raw[2], raw[4]))
            .flatten()
        {
            min_max(r)
        } else if let Some((lo, hi)) = (word(2) < 0x7fff)
            .then(|| range(raw[2], raw[3]))
            .flatten()
            .filter(|r| r.1 >= 40)
        {
            format!("{t} (Min/Max {lo}/{hi} #{})", word(2))
        } else {
            fallback()
        }
    } else {
        fallback()
    }
}

// --------------------------------------------------------------- NVMe ----

/// Size of the SMART / Health Information log page (Log Identifier 02h).
pub const NVME_SMART_LOG_LEN: usize = 512;

/// `_IOWR('N', 0x41, struct nvme_passthru_cmd)` from linux/nvme_ioctl.h.
const NVME_IOCTL_ADMIN_CMD: u64 =
    (3 << 30) | ((std::mem::size_of::<ffi::nvme_passthru_cmd>() as u64) << 16) | ((b'N' as u64) << 8) | 0x41;
const _: () = assert!(std::mem::size_of::<ffi::nvme_passthru_cmd>() == 72);

/// One NVMe controller: its model from sysfs and the health log mapped to
/// attribute entries. `None` when the log cannot be read.
fn read_nvme(env: &Env, controller: &str) -> Option<Value> {
    let log = match nvme_smart_log(&env.path(&format!("dev/{controller}"))) {
        Ok(log) => log,
        Err(e) => {
            tracing::debug!("smart: cannot read the NVMe health log of {controller}: {e}");
            return None;
        }
    };
    let model = env
        .read(&format!("sys/class/nvme/{controller}/model"))
        .map(|m| m.trim().to_string())
        .unwrap_or_default();
    Some(nvme_element(controller, &model, &log))
}

/// Get Log Page (admin opcode 02h), LID 02h, all namespaces, 512 bytes.
fn nvme_smart_log(device: &Path) -> io::Result<[u8; NVME_SMART_LOG_LEN]> {
    let file = std::fs::File::open(device)?;
    let mut log = [0u8; NVME_SMART_LOG_LEN];
    // SAFETY: nvme_passthru_cmd is plain old data; all-zero is a valid value.
    let mut cmd: ffi::nvme_passthru_cmd = unsafe { std::mem::zeroed() };
    cmd.opcode = 0x02;
    cmd.nsid = 0xffff_ffff;
    cmd.addr = log.as_mut_ptr() as u64;
    cmd.data_len = NVME_SMART_LOG_LEN as u32;
    // CDW10: number of dwords minus one in bits 31:16, log id in bits 7:0.
    cmd.cdw10 = (((NVME_SMART_LOG_LEN / 4 - 1) as u32) << 16) | 0x02;
    // SAFETY: `cmd` describes `log`, which outlives the synchronous ioctl.
    let ret = unsafe { libc::ioctl(file.as_raw_fd(), NVME_IOCTL_ADMIN_CMD as libc::Ioctl, &mut cmd) };
    match ret {
        0 => Ok(log),
        r if r < 0 => Err(io::Error::last_os_error()),
        status => Err(io::Error::other(format!("NVMe status {status:#x}"))),
    }
}

/// The SMART/Health log fields, in smartctl's `-A` order, with their byte
/// offset and width in the 512-byte page (NVMe Base Specification, "SMART /
/// Health Information", little-endian). Composite temperature (bytes 1-2)
/// is in Kelvin; counters at 32..192 are 128-bit.
const NVME_FIELDS: [(&str, usize, usize); 17] = [
    ("Critical_Warning", 0, 1),
    ("Temperature", 1, 2),
    ("Available_Spare", 3, 1),
    ("Available_Spare_Threshold", 4, 1),
    ("Percentage_Used", 5, 1),
    ("Data_Units_Read", 32, 16),
    ("Data_Units_Written", 48, 16),
    ("Host_Read_Commands", 64, 16),
    ("Host_Write_Commands", 80, 16),
    ("Controller_Busy_Time", 96, 16),
    ("Power_Cycles", 112, 16),
    ("Power_On_Hours", 128, 16),
    ("Unsafe_Shutdowns", 144, 16),
    ("Media_and_Data_Integrity_Errors", 160, 16),
    ("Error_Information_Log_Entries", 176, 16),
    ("Warning_Comp_Temperature_Time", 192, 4),
    ("Critical_Comp_Temperature_Time", 196, 4),
];

fn le_uint(log: &[u8; NVME_SMART_LOG_LEN], offset: usize, width: usize) -> u128 {
    log[offset..offset + width]
        .iter()
        .rev()
        .fold(0u128, |acc, &b| (acc << 8) | u128::from(b))
}

/// The health log as Glances-shaped attributes, numbered 1..17 in the
/// order above (NVMe has no attribute ids; Glances' clients sort keys as
/// integers). `raw` and `value` carry the field (temperature in °C);
/// `threshold` is set for `Available_Spare`; `when_failed` is
/// `FAILING_NOW` for a non-zero critical warning or a spare below threshold.
pub fn nvme_element(controller: &str, model: &str, log: &[u8; NVME_SMART_LOG_LEN]) -> Value {
    let spare = le_uint(log, 3, 1);
    let spare_threshold = le_uint(log, 4, 1);
    let mut element = Map::new();
    element.insert("DeviceName".into(), format!("{controller} {model}").into());
    for (number, (name, offset, width)) in NVME_FIELDS.iter().enumerate() {
        let mut value = le_uint(log, *offset, *width);
        if *name == "Temperature" {
            value = value.saturating_sub(273);
        }
        let failing = match *name {
            "Critical_Warning" => value != 0,
            "Available_Spare" => spare < spare_threshold,
            _ => false,
        };
        let threshold = if *name == "Available_Spare" {
            Value::from(spare_threshold as u64)
        } else {
            Value::Null
        };
        let mut entry = Map::new();
        entry.insert("name".into(), (*name).into());
        entry.insert("flags".into(), 0.into());
        entry.insert("raw".into(), value.to_string().into());
        entry.insert("value".into(), value.to_string().into());
        entry.insert("worst".into(), Value::Null);
        entry.insert("threshold".into(), threshold);
        entry.insert(
            "type".into(),
            if *name == "Available_Spare" {
                "Pre-fail"
            } else {
                "Old_age"
            }
            .into(),
        );
        entry.insert("updated".into(), "Always".into());
        entry.insert("when_failed".into(), if failing { "FAILING_NOW" } else { "-" }.into());
        element.insert((number + 1).to_string(), Value::Object(entry));
    }
    Value::Object(element)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::atasmart::Overall;
    use std::path::PathBuf;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/smart")
            .join(name)
    }

    /// What `skdump --load` printed for one blob (saved fixture).
    #[derive(Debug, Default)]
    struct SkdumpReading {
        model: String,
        overall: String,
        temperature: Option<String>,
        bad_sectors: u64,
        /// id, name, value, worst, threshold, raw hex, type, updates
        attributes: Vec<[String; 8]>,
    }

    fn parse_skdump(text: &str) -> SkdumpReading {
        let clean = text.replace("\u{1b}[1m", "").replace("\u{1b}[0m", "");
        let mut reading = SkdumpReading::default();
        let mut in_table = false;
        for line in clean.lines() {
            if in_table {
                let cols: Vec<&str> = line.split_whitespace().collect();
                // The Pretty column may hold one or two words.
                let n = cols.len();
                reading.attributes.push([
                    cols[0].into(),
                    cols[1].into(),
                    cols[2].into(),
                    cols[3].into(),
                    cols[4].into(),
                    cols[n - 5].into(),
                    cols[n - 4].into(),
                    cols[n - 3].into(),
                ]);
            } else if let Some(m) = line.strip_prefix("Model: [") {
                reading.model = m.trim_end_matches(']').to_string();
            } else if let Some(o) = line.strip_prefix("Overall Status: ") {
                reading.overall = o.to_string();
            } else if let Some(t) = line.strip_prefix("Temperature: ") {
                reading.temperature = t.ends_with(" C").then(|| t.to_string());
            } else if let Some(b) = line.strip_prefix("Bad Sectors: ") {
                reading.bad_sectors = b.trim_end_matches(" sectors").parse().unwrap();
            } else if line.starts_with("ID# ") {
                in_table = true;
            }
        }
        reading
    }

    fn opt_text(v: Option<u8>) -> String {
        v.map_or_else(|| "n/a".into(), |v| v.to_string())
    }

    #[test]
    fn every_blob_matches_its_skdump_reading() {
        for blob in [
            "INTEL_SSDSA2MH080G1GC--045C8820",
            "SAMSUNG_HD501LJ--CR100-12",
            "ST9160821AS--3.CLH",
            "WDC_WD5000AAKS--00TMA0-12.01C01",
        ] {
            let expected = parse_skdump(&std::fs::read_to_string(fixture(&format!("{blob}.skdump.txt"))).unwrap());
            let disk = Disk::from_blob(&std::fs::read(fixture(&format!("blobs/{blob}"))).unwrap()).unwrap();
            disk.parse_smart().unwrap();
            assert_eq!(disk.identify().unwrap().model, expected.model, "{blob}");
            assert_eq!(disk.overall().unwrap().as_str(), expected.overall, "{blob}");
            assert_eq!(disk.bad_sectors().unwrap(), expected.bad_sectors, "{blob}");
            let temperature = disk
                .temperature_mkelvin()
                .ok()
                .map(|mk| format!("{:.1} C", (mk as f64 - 273_150.0) / 1000.0));
            assert_eq!(temperature, expected.temperature, "{blob}");
            let attributes = disk.attributes().unwrap();
            assert_eq!(attributes.len(), expected.attributes.len(), "{blob}");
            for (a, e) in attributes.iter().zip(&expected.attributes) {
                let raw_hex: String = a.raw.iter().map(|b| format!("{b:02x}")).collect();
                let got = [
                    a.id.to_string(),
                    a.name.clone(),
                    opt_text(a.current),
                    opt_text(a.worst),
                    opt_text(a.threshold),
                    format!("0x{raw_hex}"),
                    if a.prefailure { "prefail" } else { "old-age" }.to_string(),
                    if a.online { "online" } else { "offline" }.to_string(),
                ];
                assert_eq!(&got, e, "{blob}");
            }
        }
    }

    fn blob_element(blob: &str, device: &str) -> Value {
        let disk = Disk::from_blob(&std::fs::read(fixture(&format!("blobs/{blob}"))).unwrap()).unwrap();
        disk.parse_smart().unwrap();
        disk_element(device, &disk.identify().unwrap().model, &disk.attributes().unwrap())
    }

    #[test]
    fn samsung_element_has_glances_shape() {
        let element = blob_element("SAMSUNG_HD501LJ--CR100-12", "sda");
        let obj = element.as_object().unwrap();
        let keys: Vec<&str> = obj.keys().map(String::as_str).take(4).collect();
        assert_eq!(keys, ["DeviceName", "1", "3", "4"]);
        assert_eq!(obj["DeviceName"], "sda SAMSUNG HD501LJ");
        assert_eq!(
            crate::json::to_bytes(&obj["194"]),
            br#"{"name":"Temperature_Celsius","flags":34,"raw":"47","value":"097","worst":88,"threshold":0,"type":"Old_age","updated":"Always","when_failed":"-"}"#
        );
        assert_eq!(obj["1"]["name"], "Raw_Read_Error_Rate");
        assert_eq!(obj["1"]["type"], "Pre-fail");
        assert_eq!(obj["1"]["threshold"], 51);
        assert_eq!(obj["3"]["raw"], "7360");
        assert_eq!(obj["9"]["name"], "Power_On_Hours");
        assert_eq!(obj["9"]["raw"], "7326");
        assert_eq!(obj["8"]["updated"], "Offline");
    }

    #[test]
    fn seagate_reports_past_failure_and_odd_temperatures() {
        let element = blob_element("ST9160821AS--3.CLH", "sdb");
        // value 62, worst 44, threshold 45: failed in the past
        assert_eq!(element["190"]["when_failed"], "In_the_past");
        assert_eq!(element["190"]["raw"], "38 (78 40 38 37 0)");
        assert_eq!(element["194"]["raw"], "38 (0 17 0 0 0)");
        assert_eq!(element["9"]["raw"], "556 (214 150 0)");
        assert_eq!(element["5"]["when_failed"], "-");
    }

    #[test]
    fn intel_ssd_keeps_unknown_values_visible() {
        let element = blob_element("INTEL_SSDSA2MH080G1GC--045C8820", "sdc");
        assert_eq!(element["226"]["value"], "---");
        assert_eq!(element["3"]["worst"], Value::Null);
        assert_eq!(element["232"]["name"], "Available_Reservd_Space");
        assert_eq!(element["232"]["threshold"], 10);
    }

    #[test]
    fn raw_formats_follow_smartctl_defaults() {
        assert_eq!(raw_text(1, &[0x14, 0, 0, 0, 0, 0]), "20");
        assert_eq!(raw_text(3, &[0xc0, 0x1c, 0x10, 0, 0, 0]), "7360 (Average 16)");
        assert_eq!(raw_text(5, &[1, 0, 2, 0, 3, 0]), "1 (3 2)");
        assert_eq!(raw_text(194, &[0x24, 0, 0x12, 0, 0x2d, 0]), "36 (Min/Max 18/45)");
        assert_eq!(raw_text(194, &[0x1f, 0, 0x14, 0x2c, 0, 0]), "31 (Min/Max 20/44)");
        assert_eq!(raw_text(241, &[0, 0, 0, 0, 0, 1]), "1099511627776");
    }

    #[test]
    fn libatasmart_names_map_to_smartctl_names() {
        assert_eq!(smartctl_name("raw-read-error-rate"), "Raw_Read_Error_Rate");
        assert_eq!(smartctl_name("temperature-celsius-2"), "Temperature_Celsius");
        assert_eq!(smartctl_name("reallocated-sector-count"), "Reallocated_Sector_Ct");
        assert_eq!(smartctl_name("attribute-250"), "Unknown_Attribute");
    }

    #[test]
    fn only_disks_with_smart_are_considered() {
        assert_eq!(device_kind("sda"), Some(DeviceKind::Ata));
        assert_eq!(device_kind("hdb"), Some(DeviceKind::Ata));
        assert_eq!(device_kind("nvme0n1"), Some(DeviceKind::Nvme));
        assert_eq!(nvme_controller("nvme10n2"), Some("nvme10"));
        for skipped in [
            "vda",
            "loop0",
            "ram1",
            "dm-0",
            "md0",
            "zram0",
            "sr0",
            "nvme0c0n1",
            "sd",
            "sda1",
        ] {
            assert_eq!(device_kind(skipped), None, "{skipped}");
        }
    }

    #[test]
    fn fake_sys_block_lists_devices_once_per_controller() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["sda", "vda", "loop0", "nvme0n1", "nvme0n2"] {
            std::fs::create_dir_all(dir.path().join("sys/block").join(name)).unwrap();
        }
        let env = Env::new(dir.path(), Default::default());
        assert_eq!(
            smart_devices(&env),
            [
                ("nvme0".to_string(), DeviceKind::Nvme),
                ("sda".to_string(), DeviceKind::Ata)
            ]
        );
        // No /dev under the fake root: nothing can be opened, nothing listed.
        assert_eq!(Smart::new(&env).collect(), Value::Array(Vec::new()));
    }

    #[test]
    fn missing_sys_block_gives_an_empty_list() {
        let env = Env::new("/nonexistent/glint-root", Default::default());
        assert_eq!(Smart::new(&env).collect(), Value::Array(Vec::new()));
    }

    #[test]
    fn nvme_health_log_maps_to_attributes() {
        let bytes = std::fs::read(fixture("nvme-smart-log.bin")).unwrap();
        let log: [u8; NVME_SMART_LOG_LEN] = bytes.try_into().unwrap();
        let element = nvme_element("nvme0", "Samsung SSD 970 EVO Plus 1TB", &log);
        let obj = element.as_object().unwrap();
        assert_eq!(obj.len(), 18);
        assert_eq!(obj["DeviceName"], "nvme0 Samsung SSD 970 EVO Plus 1TB");
        assert_eq!(obj["1"]["name"], "Critical_Warning");
        assert_eq!(obj["1"]["raw"], "0");
        assert_eq!(obj["2"]["name"], "Temperature");
        assert_eq!(obj["2"]["value"], "36");
        assert_eq!(obj["3"]["raw"], "100");
        assert_eq!(obj["3"]["threshold"], 10);
        assert_eq!(obj["3"]["when_failed"], "-");
        assert_eq!(obj["5"]["raw"], "2");
        assert_eq!(obj["6"]["raw"], "12345678");
        assert_eq!(obj["7"]["name"], "Data_Units_Written");
        assert_eq!(obj["7"]["raw"], "340282366920938463463374607431768211455");
        assert_eq!(obj["11"]["raw"], "1234");
        assert_eq!(obj["12"]["name"], "Power_On_Hours");
        assert_eq!(obj["12"]["raw"], "5678");
        assert_eq!(obj["13"]["raw"], "42");
        assert_eq!(obj["17"]["raw"], "7");
    }

    #[test]
    fn nvme_critical_warning_fails_now() {
        let mut log = [0u8; NVME_SMART_LOG_LEN];
        log[0] = 0x04;
        log[3] = 5;
        log[4] = 10;
        let element = nvme_element("nvme1", "X", &log);
        assert_eq!(element["1"]["when_failed"], "FAILING_NOW");
        assert_eq!(element["3"]["when_failed"], "FAILING_NOW");
        assert_eq!(element["2"]["raw"], "0");
    }

    #[test]
    fn overall_text_matches_skdump() {
        assert_eq!(Overall::BadSectorMany.as_str(), "BAD_SECTOR_MANY");
    }
}
