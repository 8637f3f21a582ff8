//! The servers the live tests talk to, started in the server namespace: vsftpd,
//! tftpd-hpa and ngircd.

use crate::{Topology, SERVER4};
use std::path::Path;

/// The uid and gid ngircd runs as (Debian's nobody and nogroup).
const NOBODY: u32 = 65534;

impl Topology {
    /// Starts vsftpd in the server namespace, serving `root` to anonymous users on
    /// IPv4 and IPv6, passive and active.
    pub fn start_vsftpd(&mut self, root: &Path) {
        let conf = self.dir.join("vsftpd.conf");
        std::fs::create_dir_all("/var/run/vsftpd/empty").expect("vsftpd's secure_chroot_dir");
        std::fs::write(
            &conf,
            format!(
                "listen=NO\nlisten_ipv6=YES\nbackground=NO\nanonymous_enable=YES\n\
                 no_anon_password=YES\nanon_root={}\nlocal_enable=NO\nwrite_enable=NO\n\
                 pasv_enable=YES\nport_enable=YES\nconnect_from_port_20=NO\n\
                 seccomp_sandbox=NO\nisolate_network=NO\nisolate=NO\n\
                 secure_chroot_dir=/var/run/vsftpd/empty\nxferlog_enable=NO\n\
                 pasv_min_port=40000\npasv_max_port=40100\n",
                root.display()
            ),
        )
        .expect("vsftpd.conf");
        let server = self.server.clone();
        let conf = conf.display().to_string();
        self.spawn("vsftpd", &server, &["vsftpd", &conf]);
        self.wait_for_listener(&server, "tcp", 21, "vsftpd");
    }

    /// Starts tftpd-hpa in the server namespace on `root`, with uploads allowed.
    pub fn start_tftpd(&mut self, root: &Path) {
        let server = self.server.clone();
        let root = root.display().to_string();
        self.spawn(
            "tftpd",
            &server,
            &[
                "in.tftpd",
                "--foreground",
                "--create",
                "--user",
                "root",
                "--address",
                ":69",
                "--secure",
                &root,
            ],
        );
        self.wait_for_listener(&server, "udp", 69, "tftpd");
    }

    /// Starts ngircd in the server namespace, in the foreground, listening on
    /// [`SERVER4`]:6667, without DNS, ident or PAM lookups (an ident query would be a
    /// NEW connection to the client that a firewall drops).
    pub fn start_ngircd(&mut self) {
        self.start_ngircd_on(SERVER4);
    }

    /// As [`Topology::start_ngircd`], listening on `addr`:6667.
    pub fn start_ngircd_on(&mut self, addr: &str) {
        let include = self.dir.join("ngircd.d");
        std::fs::create_dir_all(&include).expect("ngircd's include folder");
        // ngircd will not stay root: it runs as nobody, so its pid file goes in a
        // folder of nobody's.
        let run = self.dir.join("ngircd.run");
        std::fs::create_dir_all(&run).expect("ngircd's run folder");
        std::os::unix::fs::chown(&run, Some(NOBODY), Some(NOBODY)).expect("chown");
        let conf = self.dir.join("ngircd.conf");
        std::fs::write(
            &conf,
            format!(
                "[Global]\nName = irc.brickwall.test\nInfo = brickwall live test\n\
                 AdminInfo1 = brickwall\nAdminInfo2 = tests\nAdminEMail = root@localhost\n\
                 Listen = {addr}\nPorts = 6667\nPidFile = {}\nMotdPhrase = hello\n\
                 ServerUID = {NOBODY}\nServerGID = {NOBODY}\n\
                 [Limits]\nMaxConnectionsIP = 0\nPingTimeout = 300\n\
                 [Options]\nDNS = no\nIdent = no\nPAM = no\nIncludeDir = {}\n",
                run.join("ngircd.pid").display(),
                include.display()
            ),
        )
        .expect("ngircd.conf");
        let server = self.server.clone();
        let conf = conf.display().to_string();
        self.spawn("ngircd", &server, &["ngircd", "-n", "-f", &conf]);
        self.wait_for_listener(&server, "tcp", 6667, "ngircd");
    }
}
