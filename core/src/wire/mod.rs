//! Link, network and transport headers: parsing frames into offsets.
