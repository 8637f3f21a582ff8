//! pcap and pcapng files.
