//! Schema migrations, one module per step, written with SeaQuery so one definition serves
//! SQLite and PostgreSQL.

mod m0001_foundation;
mod m0002_fleet;
mod m0010_bots_resources;
mod m0020_workspace_finance;
mod m0030_settings_misc;
mod m0040_delivery_chain;
mod m0050_provisioning;
mod m0060_vmgen;

use sea_orm_migration::prelude::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_foundation::Migration),
            Box::new(m0002_fleet::Migration),
            Box::new(m0010_bots_resources::Migration),
            Box::new(m0020_workspace_finance::Migration),
            Box::new(m0030_settings_misc::Migration),
            Box::new(m0040_delivery_chain::Migration),
            Box::new(m0050_provisioning::Migration),
            Box::new(m0060_vmgen::Migration),
        ]
    }
}

/// Column helpers shared by the migration steps.
pub(crate) mod col {
    use sea_orm_migration::prelude::*;

    pub fn id(name: &'static str) -> ColumnDef {
        ColumnDef::new(Alias::new(name))
            .string()
            .not_null()
            .primary_key()
            .to_owned()
    }
    pub fn text(name: &'static str) -> ColumnDef {
        ColumnDef::new(Alias::new(name))
            .text()
            .not_null()
            .to_owned()
    }
    pub fn text_null(name: &'static str) -> ColumnDef {
        ColumnDef::new(Alias::new(name)).text().null().to_owned()
    }
    /// A non-negative counter starting at 0.
    pub fn count(name: &'static str) -> ColumnDef {
        ColumnDef::new(Alias::new(name))
            .big_integer()
            .not_null()
            .default(0)
            .to_owned()
    }
    pub fn ms(name: &'static str) -> ColumnDef {
        ColumnDef::new(Alias::new(name))
            .big_integer()
            .not_null()
            .to_owned()
    }
    pub fn ms_null(name: &'static str) -> ColumnDef {
        ColumnDef::new(Alias::new(name))
            .big_integer()
            .null()
            .to_owned()
    }
    pub fn flag(name: &'static str) -> ColumnDef {
        ColumnDef::new(Alias::new(name))
            .boolean()
            .not_null()
            .default(false)
            .to_owned()
    }
    pub fn index(
        table: &'static str,
        name: &'static str,
        cols: &[&'static str],
    ) -> IndexCreateStatement {
        let mut idx = Index::create();
        idx.name(name).table(Alias::new(table)).if_not_exists();
        for c in cols {
            idx.col(Alias::new(*c));
        }
        idx.to_owned()
    }
}
