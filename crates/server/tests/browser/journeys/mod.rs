mod bots;
mod finance;
mod login;
mod pages;
