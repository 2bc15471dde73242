$ErrorActionPreference = 'Stop'
Get-Date | Out-File C:\WindowsSetup\date.txt
