# Installs rotor as a Windows service. Run from an elevated PowerShell in the
# directory holding rotor.exe and rotor.hcl (configs/windows/rotor.hcl):
#
#   powershell -ExecutionPolicy Bypass -File install-service.ps1
#
# The service runs as LocalSystem, starts with the machine, restarts after a
# failure, and logs to C:\rotor\rotor.log (a service has no console).
# `rotor agent` notices it was started by the service manager, reports
# Running, and on Stop-Service reports StopPending, revokes what
# revoke_on_shutdown asks for and exits.
#
# Remove: Stop-Service rotor; sc.exe delete rotor
$ErrorActionPreference = "Stop"
$dir = "C:\rotor"

New-Item -ItemType Directory -Force -Path $dir | Out-Null
Copy-Item -Force rotor.exe, rotor.hcl $dir

# C:\rotor holds the AppRole credentials and the token: SYSTEM and
# Administrators only, nothing inherited from C:\ (where Users may read).
icacls $dir /inheritance:r /grant:r "*S-1-5-18:(OI)(CI)F" "*S-1-5-32-544:(OI)(CI)F" | Out-Null

& "$dir\rotor.exe" validate -config "$dir\rotor.hcl"
if ($LASTEXITCODE -ne 0) { throw "rotor.hcl does not validate" }

# The same with sc.exe (mind the space after each "="):
#   sc.exe create rotor binPath= "C:\rotor\rotor.exe agent -config C:\rotor\rotor.hcl -log-file C:\rotor\rotor.log" start= auto DisplayName= "rotor"
New-Service -Name rotor -DisplayName "rotor" `
    -Description "rotor: short-lived Vault credentials for local services" `
    -BinaryPathName "`"$dir\rotor.exe`" agent -config `"$dir\rotor.hcl`" -log-file `"$dir\rotor.log`"" `
    -StartupType Automatic | Out-Null

# Restart 5 s after a failure (a non-zero exit: rotor reports its exit code
# as the service-specific code); reset the failure count after a day.
sc.exe failure rotor reset= 86400 actions= restart/5000/restart/5000/restart/30000 | Out-Null

Start-Service rotor
Get-Service rotor

# Later:
#   & C:\rotor\rotor.exe reload -config C:\rotor\rotor.hcl   # re-read rotor.hcl
#   & C:\rotor\rotor.exe rotate -config C:\rotor\rotor.hcl   # fetch every secret again
#   Restart-Service rotor                                     # vault block or pid_file changed
