//! `gpu`: NVIDIA GPUs through NVML (spec §8.11).
//!
//! nvml-wrapper loads `libnvidia-ml` at run time, so glint runs on hosts
//! without an NVIDIA driver: NVML is initialised once, on the first
//! collection, and if that fails the plugin answers `[]` for good after one
//! log line (Glances also initialises NVML once).

use nvml_wrapper::enum_wrappers::device::TemperatureSensor;
use nvml_wrapper::{Device, Nvml};
use nvml_wrapper_sys::bindings::{nvmlMemory_t, nvmlReturn_enum_NVML_SUCCESS};
use serde_json::{Map, Value, json};

use super::{Env, Plugin};
use crate::limits::Limits;
use crate::views::Decorator;

/// Library names tried in order: the versioned name every driver install
/// ships, then the development symlink nvml-wrapper uses by default.
const NVML_LIBRARIES: [&str; 2] = ["libnvidia-ml.so.1", "libnvidia-ml.so"];

/// The fields whose decorations Glances keeps in the per-GPU views.
const DECORATED: [&str; 3] = ["proc", "mem", "temperature"];

pub struct Gpu {
    nvml: NvmlState,
}

enum NvmlState {
    NotTried,
    Ready(Box<Nvml>),
    Unavailable,
}

impl Gpu {
    pub fn new(_env: &Env) -> Gpu {
        Gpu {
            nvml: NvmlState::NotTried,
        }
    }

    fn nvml(&mut self) -> Option<&Nvml> {
        if let NvmlState::NotTried = self.nvml {
            self.nvml = match init_nvml() {
                Ok(nvml) => NvmlState::Ready(Box::new(nvml)),
                Err(e) => {
                    tracing::info!("gpu: NVIDIA NVML is not usable ({e}); the gpu plugin reports no GPU");
                    NvmlState::Unavailable
                }
            };
        }
        match &self.nvml {
            NvmlState::Ready(nvml) => Some(nvml),
            _ => None,
        }
    }
}

/// Initialise NVML from the first library name that loads; the error of
/// the first (versioned) name is the one worth reporting.
fn init_nvml() -> Result<Nvml, nvml_wrapper::error::NvmlError> {
    let mut first_error = None;
    for library in NVML_LIBRARIES {
        match Nvml::builder().lib_path(library.as_ref()).init() {
            Ok(nvml) => return Ok(nvml),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or(nvml_wrapper::error::NvmlError::Uninitialized))
}

/// What NVML reports for one GPU; `None` where the query failed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GpuReading {
    pub name: Option<String>,
    pub memory_used: Option<u64>,
    pub memory_total: Option<u64>,
    pub utilization: Option<u32>,
    pub temperature: Option<u32>,
    pub fan_speed: Option<u32>,
}

fn read_device(nvml: &Nvml, index: u32) -> Option<GpuReading> {
    let device = nvml.device_by_index(index).ok()?;
    let memory = memory_info_v1(nvml, &device);
    Some(GpuReading {
        name: device.name().ok(),
        memory_used: memory.map(|m| m.used),
        memory_total: memory.map(|m| m.total),
        utilization: device.utilization_rates().ok().map(|u| u.gpu),
        temperature: device.temperature(TemperatureSensor::Gpu).ok(),
        // pynvml's nvmlDeviceGetFanSpeed reads fan 0; fanless boards fail.
        fan_speed: device.fan_speed(0).ok(),
    })
}

/// The first memory query, `nvmlDeviceGetMemoryInfo`, which Glances (through
/// py3nvml) calls and every driver has. nvml-wrapper only calls `_v2`, whose
/// `used` leaves out the driver's reserved memory (so `mem` would read lower
/// than Glances') and which drivers before 510 lack.
fn memory_info_v1(nvml: &Nvml, device: &Device) -> Option<nvmlMemory_t> {
    let query = nvml.lib().nvmlDeviceGetMemoryInfo.as_ref().ok()?;
    let mut memory = nvmlMemory_t {
        total: 0,
        free: 0,
        used: 0,
    };
    // SAFETY: the handle comes from this NVML instance, which outlives the
    // call, and `memory` is the plain struct the v1 query fills.
    let status = unsafe { query(device.handle(), &mut memory) };
    (status == nvmlReturn_enum_NVML_SUCCESS).then_some(memory)
}

/// One GPU in Glances' field order; `mem` is used/total in percent,
/// unrounded, and `name` falls back to `"NVIDIA"` like Glances.
pub fn gpu_element(gpu_id: u32, reading: &GpuReading) -> Value {
    let mem = match (reading.memory_used, reading.memory_total) {
        (Some(used), Some(total)) if total > 0 => crate::json::float(used as f64 * 100.0 / total as f64),
        _ => Value::Null,
    };
    let mut element = Map::new();
    element.insert("key".into(), "gpu_id".into());
    element.insert("gpu_id".into(), gpu_id.into());
    element.insert(
        "name".into(),
        reading.name.clone().unwrap_or_else(|| "NVIDIA".into()).into(),
    );
    element.insert("mem".into(), mem);
    element.insert("proc".into(), reading.utilization.map_or(Value::Null, Value::from));
    element.insert(
        "temperature".into(),
        reading.temperature.map_or(Value::Null, Value::from),
    );
    element.insert("fan_speed".into(), reading.fan_speed.map_or(Value::Null, Value::from));
    Value::Object(element)
}

impl Plugin for Gpu {
    fn name(&self) -> &'static str {
        "gpu"
    }

    /// NVML calls can stall in the driver; without NVML there is nothing
    /// to call.
    fn quick(&self) -> bool {
        matches!(self.nvml, NvmlState::Unavailable)
    }

    fn collect(&mut self) -> Value {
        let Some(nvml) = self.nvml() else {
            return Value::Array(Vec::new());
        };
        let count = nvml.device_count().unwrap_or(0);
        let gpus = (0..count)
            .filter_map(|index| Some(gpu_element(index, &read_device(nvml, index)?)))
            .collect();
        Value::Array(gpus)
    }

    fn key(&self) -> Option<&'static str> {
        Some("gpu_id")
    }

    /// `proc`, `mem` and `temperature` against `gpu_<field>_*`, falling back
    /// to `gpu_*`; a null value is DEFAULT. Log only if configured.
    fn decorate(&self, stats: &Value, limits: &Limits, d: &mut Decorator) {
        for gpu in stats.as_array().into_iter().flatten() {
            let id = crate::views::key_text(gpu.get("gpu_id"));
            for field in DECORATED {
                if let Some(value) = gpu.get(field).and_then(Value::as_f64) {
                    d.evaluate(limits, "gpu", field, &id, field, value, 100.0, false);
                }
            }
        }
    }

    /// Glances replaces each GPU's views with only the decorations of
    /// `proc`, `mem` and `temperature` (spec §12.1 exception).
    fn standard_views(&self) -> bool {
        false
    }

    fn views(&self, stats: &Value, decorator: &Decorator) -> Value {
        let full = decorator.views(stats, self.key(), &[]);
        let partial = full
            .as_object()
            .into_iter()
            .flatten()
            .map(|(id, fields)| {
                let kept: Map<String, Value> = DECORATED
                    .iter()
                    .map(|f| (f.to_string(), json!({"decoration": fields[*f]["decoration"].clone()})))
                    .collect();
                (id.clone(), Value::Object(kept))
            })
            .collect();
        Value::Object(partial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::path::Path;

    fn reading() -> GpuReading {
        GpuReading {
            name: Some("NVIDIA H100 80GB HBM3".into()),
            memory_used: Some(1 << 30),
            memory_total: Some(3 << 30),
            utilization: Some(87),
            temperature: Some(41),
            fan_speed: None,
        }
    }

    #[test]
    fn without_nvml_collect_is_empty_and_stays_quiet() {
        // This machine has no NVIDIA driver; on one that has, skip.
        let mut gpu = Gpu::new(&Env::new("/", Default::default()));
        if init_nvml().is_ok() {
            eprintln!("NVML present: absence path not testable here");
            return;
        }
        assert_eq!(gpu.collect(), json!([]));
        assert!(matches!(gpu.nvml, NvmlState::Unavailable));
        // Second call does not retry (and so does not log again).
        assert_eq!(gpu.collect(), json!([]));
    }

    /// Runs for real only where an NVIDIA driver is (this CI has none): each
    /// GPU NVML lists is one element, read as NVML reads it then.
    #[test]
    fn with_nvml_each_gpu_is_reported_as_nvml_reads_it() {
        let Ok(nvml) = init_nvml() else {
            eprintln!("no NVML here: the real-GPU path is not testable");
            return;
        };
        let mut gpu = Gpu::new(&Env::new("/", Default::default()));
        let stats = gpu.collect();
        let gpus = stats.as_array().expect("a list");
        assert_eq!(gpus.len() as u32, nvml.device_count().unwrap());
        for (index, element) in gpus.iter().enumerate() {
            let device = nvml.device_by_index(index as u32).unwrap();
            eprintln!("gpu {index}: {element}");
            assert_eq!(element["key"], "gpu_id");
            assert_eq!(element["gpu_id"], index);
            assert_eq!(element["name"], device.name().unwrap());
            let v1 = memory_info_v1(&nvml, &device).expect("every driver answers the v1 memory query");
            let v2 = device.memory_info().unwrap();
            eprintln!(
                "  v1 {v1:?}, v2 total {} free {} used {} reserved {}",
                v2.total, v2.free, v2.used, v2.reserved
            );
            // v1 counts the driver's reserved memory as used; v2 does not.
            assert!(v1.used >= v2.used, "v1 used {} < v2 used {}", v1.used, v2.used);
            let mem = element["mem"].as_f64().expect("mem is a number");
            let now = v1.used as f64 * 100.0 / v1.total as f64;
            assert!(
                (0.0..=100.0).contains(&mem) && (mem - now).abs() < 1.0,
                "mem {mem}, now {now}"
            );
            if let Some(proc) = element["proc"].as_u64() {
                assert!(proc <= 100, "utilisation {proc}");
            }
            if let Some(celsius) = element["temperature"].as_u64() {
                assert!((1..=125).contains(&celsius), "temperature {celsius}");
            }
        }
    }

    #[test]
    fn element_has_glances_fields_in_order() {
        assert_eq!(
            crate::json::to_bytes(&gpu_element(0, &reading())),
            br#"{"key":"gpu_id","gpu_id":0,"name":"NVIDIA H100 80GB HBM3","mem":33.333333333333336,"proc":87,"temperature":41,"fan_speed":null}"#
        );
    }

    #[test]
    fn failed_queries_become_null_and_default_name() {
        let element = gpu_element(1, &GpuReading::default());
        assert_eq!(element["name"], "NVIDIA");
        assert_eq!(element["mem"], Value::Null);
        assert_eq!(element["proc"], Value::Null);
        let zero_total = GpuReading {
            memory_used: Some(0),
            memory_total: Some(0),
            ..GpuReading::default()
        };
        assert_eq!(gpu_element(2, &zero_total)["mem"], Value::Null);
    }

    #[test]
    fn views_keep_three_decorations_per_gpu() {
        let config = Config::parse(
            "[gpu]\nproc_careful=50\nproc_warning=70\nproc_critical=90\nmem_careful=50\nmem_warning=70\nmem_critical=90\n",
            Path::new("t.conf"),
        )
        .unwrap();
        let limits = Limits::from_config("gpu", &config);
        let gpu = Gpu::new(&Env::new("/", Default::default()));
        let stats = json!([gpu_element(0, &reading()), gpu_element(1, &GpuReading::default())]);
        let mut decorator = Decorator::default();
        gpu.decorate(&stats, &limits, &mut decorator);
        assert_eq!(
            crate::json::to_bytes(&gpu.views(&stats, &decorator)),
            br#"{"0":{"proc":{"decoration":"WARNING"},"mem":{"decoration":"OK"},"temperature":{"decoration":"DEFAULT"}},"1":{"proc":{"decoration":"DEFAULT"},"mem":{"decoration":"DEFAULT"},"temperature":{"decoration":"DEFAULT"}}}"#
        );
        assert!(decorator.evaluations.is_empty(), "gpu logs only when configured");
    }

    #[test]
    fn no_history() {
        assert!(Gpu::new(&Env::new("/", Default::default())).history_fields().is_empty());
    }
}
