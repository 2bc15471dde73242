//! The `FirstLogonCommands` of the answer file and the script files they run.
//!
//! Windows truncates or rejects a `CommandLine` longer than 1024 characters, so every command
//! here is short: anything longer (the settings, a long user command, any PowerShell) lives in
//! a file on the config ISO, which the second command copies to `C:\WindowsSetup`.

use botmox_contract::provisioning::CommandKind;

use super::powershell::{crlf, script_file};
use super::resolve::ResolvedProfile;
use super::settings_script::{SETTINGS_SCRIPT, settings_script, settings_script_path};
use super::{PROVISION_JSON, SETUP_DIR};

/// Windows' limit for one `CommandLine`.
pub const COMMAND_LINE_MAX: usize = 1024;
/// Window title of the bootstrap console, as in the original.
const BOOTSTRAP_WINDOW: &str = "SETUP_LOG";

/// One `SynchronousCommand`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogonCommand {
    pub command_line: String,
    pub description: String,
}

/// A script file shipped on the config ISO (root directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FirstLogonPlan {
    /// In execution order; `Order` is the 1-based position.
    pub commands: Vec<LogonCommand>,
    pub files: Vec<ScriptFile>,
}

/// Plans the first logon: create `C:\WindowsSetup`, copy the config ISO there, apply the
/// settings script, run the profile's own commands, then launch the bootstrap after the delay.
pub fn plan_first_logon(resolved: &ResolvedProfile<'_>) -> FirstLogonPlan {
    let mut plan = FirstLogonPlan::default();
    plan.commands.push(LogonCommand {
        command_line: format!(r"cmd /c if not exist {SETUP_DIR} mkdir {SETUP_DIR}"),
        description: format!(r"Create {SETUP_DIR}"),
    });
    plan.commands.push(LogonCommand {
        command_line: copy_config_command(),
        description: "Copy the provisioning files from the config ISO".to_owned(),
    });

    if let Some(script) = settings_script(resolved) {
        plan.files.push(ScriptFile {
            name: SETTINGS_SCRIPT.to_owned(),
            bytes: script_file(&script),
        });
        plan.commands.push(LogonCommand {
            command_line: run_powershell_file(&settings_script_path()),
            description: "Apply Windows settings and remove packages".to_owned(),
        });
    }

    for (i, command) in resolved.profile.first_logon_commands.iter().enumerate() {
        let number = i + 1;
        let description = command
            .description
            .clone()
            .filter(|d| !d.trim().is_empty())
            .unwrap_or_else(|| format!("Profile command {number}"));
        let command_line = match command.kind {
            CommandKind::Cmd if utf16_len(&command.command) <= COMMAND_LINE_MAX => {
                command.command.clone()
            }
            CommandKind::Cmd => {
                let name = format!("LogonCommand{number:02}.cmd");
                plan.files.push(ScriptFile {
                    name: name.clone(),
                    bytes: batch_file(&command.command),
                });
                format!(r"cmd /c {SETUP_DIR}\{name}")
            }
            CommandKind::Powershell => {
                let name = format!("LogonCommand{number:02}.ps1");
                plan.files.push(ScriptFile {
                    name: name.clone(),
                    bytes: script_file(&command.command),
                });
                run_powershell_file(&format!(r"{SETUP_DIR}\{name}"))
            }
        };
        plan.commands.push(LogonCommand {
            command_line,
            description,
        });
    }

    plan.commands.push(LogonCommand {
        command_line: launch_command(
            &resolved.launch_executable,
            resolved.profile.custom_script.delay_seconds,
        ),
        description: "Run the provisioning bootstrap".to_owned(),
    });
    plan
}

/// Copies the config ISO (found by its `provision.json`) to `C:\WindowsSetup`, except the
/// answer file, whose password field is only encoded, not encrypted. Files copied from a CD
/// are read-only; clearing that lets later runs overwrite them.
fn copy_config_command() -> String {
    format!(
        "powershell -NoProfile -ExecutionPolicy Bypass -Command \"$d = Get-PSDrive -PSProvider FileSystem | \
         Where-Object {{ Test-Path -LiteralPath (Join-Path $_.Root '{PROVISION_JSON}') }} | Select-Object -First 1; \
         if ($d) {{ Copy-Item -Path (Join-Path $d.Root '*') -Destination '{SETUP_DIR}' -Exclude 'autounattend.xml' -Recurse -Force; \
         Get-ChildItem -LiteralPath '{SETUP_DIR}' -Recurse -File | ForEach-Object {{ $_.IsReadOnly = $false }} }}\""
    )
}

/// Length as Windows counts it (UTF-16 code units).
pub fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

fn run_powershell_file(path: &str) -> String {
    format!("powershell -NoProfile -ExecutionPolicy Bypass -File {path}")
}

/// A `.cmd` holding one long command line. Batch files read in the OEM code page, so a
/// command with non-ASCII text switches the console to UTF-8 first.
fn batch_file(command: &str) -> Vec<u8> {
    let mut text = String::from("@echo off\n");
    if !command.is_ascii() {
        text.push_str("chcp 65001 >nul\n");
    }
    text.push_str(command);
    text.push('\n');
    crlf(&text).into_bytes()
}

/// Starts the executable in its own window after the delay, so the first logon (and the
/// desktop) does not wait for the whole bootstrap.
fn launch_command(executable: &str, delay_seconds: u32) -> String {
    let path = format!(r"{SETUP_DIR}\{executable}");
    let extension = executable
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let program = match extension.as_str() {
        "ps1" => format!(
            "powershell.exe -NoExit -NoProfile -ExecutionPolicy Bypass -WindowStyle Normal -File {path}"
        ),
        "cmd" | "bat" => format!("cmd /c {path}"),
        _ => path,
    };
    let start = format!("start \"{BOOTSTRAP_WINDOW}\" {program}");
    if delay_seconds == 0 {
        format!("cmd /c \"{start}\"")
    } else {
        format!("cmd /c \"timeout /t {delay_seconds} /nobreak >nul & {start}\"")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::field_reassign_with_default)]

    use botmox_contract::provisioning::{FirstLogonCommand, ProvisionVm, UnattendProfileConfig};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::super::resolve::resolve;
    use super::*;

    fn plan(profile: &UnattendProfileConfig) -> FirstLogonPlan {
        let vm = ProvisionVm {
            vm_uuid: "vm-1".to_owned(),
            vm_name: None,
            ip: None,
            sequence: None,
        };
        let resolved = resolve(profile, &vm, &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
        plan_first_logon(&resolved)
    }

    #[test]
    fn default_profile_plan() {
        let plan = plan(&UnattendProfileConfig::default());
        let lines: Vec<&str> = plan
            .commands
            .iter()
            .map(|c| c.command_line.as_str())
            .collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[0],
            r"cmd /c if not exist C:\WindowsSetup mkdir C:\WindowsSetup"
        );
        assert!(lines[1].contains("-Exclude 'autounattend.xml'"));
        assert_eq!(
            lines[2],
            r"powershell -NoProfile -ExecutionPolicy Bypass -File C:\WindowsSetup\FirstLogon.ps1"
        );
        assert_eq!(
            lines[3],
            "cmd /c \"timeout /t 20 /nobreak >nul & start \"SETUP_LOG\" powershell.exe -NoExit -NoProfile \
             -ExecutionPolicy Bypass -WindowStyle Normal -File C:\\WindowsSetup\\START.ps1\""
        );
        assert_eq!(plan.files.len(), 1);
        assert_eq!(plan.files[0].name, "FirstLogon.ps1");
        assert!(
            plan.commands
                .iter()
                .all(|c| utf16_len(&c.command_line) <= COMMAND_LINE_MAX)
        );
    }

    #[test]
    fn long_and_powershell_commands_move_into_files() {
        let mut profile = UnattendProfileConfig::default();
        let long = format!("echo {}", "x".repeat(1100));
        profile.first_logon_commands = vec![
            FirstLogonCommand {
                description: Some("short".to_owned()),
                kind: CommandKind::Cmd,
                command: "echo short".to_owned(),
            },
            FirstLogonCommand {
                description: None,
                kind: CommandKind::Cmd,
                command: long.clone(),
            },
            FirstLogonCommand {
                description: None,
                kind: CommandKind::Powershell,
                command: "Write-Host 'a'\nWrite-Host 'b'".to_owned(),
            },
        ];
        profile.custom_script.delay_seconds = 0;
        let plan = plan(&profile);
        let lines: Vec<&str> = plan
            .commands
            .iter()
            .map(|c| c.command_line.as_str())
            .collect();
        assert_eq!(lines[3], "echo short");
        assert_eq!(lines[4], r"cmd /c C:\WindowsSetup\LogonCommand02.cmd");
        assert_eq!(
            lines[5],
            r"powershell -NoProfile -ExecutionPolicy Bypass -File C:\WindowsSetup\LogonCommand03.ps1"
        );
        assert!(
            lines[6].starts_with("cmd /c \"start \"SETUP_LOG\""),
            "no delay: {}",
            lines[6]
        );
        assert_eq!(plan.commands[4].description, "Profile command 2");
        let batch = &plan
            .files
            .iter()
            .find(|f| f.name == "LogonCommand02.cmd")
            .unwrap()
            .bytes;
        assert_eq!(*batch, format!("@echo off\r\n{long}\r\n").into_bytes());
        let ps = &plan
            .files
            .iter()
            .find(|f| f.name == "LogonCommand03.ps1")
            .unwrap()
            .bytes;
        assert_eq!(
            *ps,
            b"\xEF\xBB\xBFWrite-Host 'a'\r\nWrite-Host 'b'\r\n".to_vec()
        );
        assert!(
            plan.commands
                .iter()
                .all(|c| utf16_len(&c.command_line) <= COMMAND_LINE_MAX)
        );
    }

    #[test]
    fn launches_by_extension() {
        assert_eq!(
            launch_command("runner.exe", 5),
            "cmd /c \"timeout /t 5 /nobreak >nul & start \"SETUP_LOG\" C:\\WindowsSetup\\runner.exe\""
        );
        assert_eq!(
            launch_command("setup.CMD", 0),
            "cmd /c \"start \"SETUP_LOG\" cmd /c C:\\WindowsSetup\\setup.CMD\""
        );
    }

    #[test]
    fn non_ascii_batch_switches_to_utf8() {
        assert_eq!(
            batch_file("echo é"),
            "@echo off\r\nchcp 65001 >nul\r\necho é\r\n".as_bytes()
        );
    }
}
