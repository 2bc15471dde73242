mod commands_live;
mod crawl;
mod login;
mod notes_conflict;
mod overview;
mod pair_agent;
mod vm_generator;
