//! `vmp admin rotate-master-key|new-master-key`.

use secrecy::ExposeSecret;
use vmp_server::vault::MasterKey;

use crate::cli::AdminCommand;

pub async fn run(cmd: AdminCommand) -> anyhow::Result<()> {
    match cmd {
        AdminCommand::RotateMasterKey { data } => {
            let store = data.open_store().await?;
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let rotated = store.rotate_master_key(now).await;
            store.close().await?;
            let r = rotated?;
            println!(
                "re-encrypted {} secret(s) under master key version {}; {} older version(s) retired",
                r.resealed, r.version, r.retired
            );
            println!("every instance may now drop the old key from its key ring");
            Ok(())
        }
        AdminCommand::NewMasterKey => {
            println!("{}", MasterKey::generate()?.encoded().expose_secret());
            Ok(())
        }
    }
}
